"""The only module of the webhooks service that talks to Redis: the delivery log, the endpoint's state
and the per-app in-flight slots (key family ``{w:<client_id>}``, ``shared.keys``; this service is
its one writer), and the read of an app's webhook settings (the apps family, read-only)."""

from __future__ import annotations

import msgspec

from shared import keys
from shared.messages.webhooks import Delivery, EndpointState
from shared.script_runner import LuaScript, ScriptRunner
from shared.store import Redis

_ADD = LuaScript.load(__package__, "delivery_add")
_UPDATE = LuaScript.load(__package__, "delivery_update")
_TAKE = LuaScript.load(__package__, "in_flight_take")


class StoredDelivery(msgspec.Struct, frozen=True, kw_only=True):
    """A delivery as the log keeps it: what the API shows and the payload (for a redelivery)."""

    delivery: Delivery
    body: str
    round: int = 0  # redeliveries so far
    round_start: int = 0  # attempts made before this round (each round follows the whole schedule)


class WebhookTarget(msgspec.Struct, frozen=True, kw_only=True):
    """The fields of the app record (``shared.apps.records.AppRecord``) a delivery needs; the secrets
    sealed (``shared.sealing``, purpose ``webhook:<client_id>``)."""

    client_id: str
    webhook_url: str = ""
    webhook_secret: str = ""


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


_stored = msgspec.json.Decoder(StoredDelivery)
_target = msgspec.json.Decoder(WebhookTarget)
_encoder = msgspec.json.Encoder()


class WebhookStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._scripts = ScriptRunner(redis)

    async def target(self, client_id: str) -> WebhookTarget | None:
        """The app's webhook settings; None when the app does not exist (any more)."""
        raw = await self.redis.get(keys.app(client_id))
        return None if raw is None else _target.decode(raw)

    async def add(self, client_id: str, stored: StoredDelivery) -> bool:
        """Log a new delivery (False: that id is logged already)."""
        keys_ = [keys.webhook_log(client_id), keys.webhook_deliveries(client_id)]
        args = [stored.delivery.id, _encoder.encode(stored), keys.WEBHOOK_LOG_MAX]
        return bool(await self._scripts.run(_ADD, keys_, args))

    async def update(self, client_id: str, stored: StoredDelivery) -> None:
        args = [stored.delivery.id, _encoder.encode(stored)]
        await self._scripts.run(_UPDATE, [keys.webhook_deliveries(client_id)], args)

    async def get(self, client_id: str, delivery_id: str) -> StoredDelivery | None:
        raw = await self.redis.hget(keys.webhook_deliveries(client_id), delivery_id)
        return None if raw is None else _stored.decode(raw)

    async def recent(self, client_id: str) -> list[StoredDelivery]:
        """The log, newest first."""
        ids = [text(i) for i in await self.redis.lrange(keys.webhook_log(client_id), 0, -1)]
        if not ids:
            return []
        raws = await self.redis.hmget(keys.webhook_deliveries(client_id), ids)
        return [_stored.decode(raw) for raw in raws if raw is not None]

    async def endpoint(self, client_id: str) -> EndpointState:
        raw = {
            text(k): int(v) for k, v in (await self.redis.hgetall(keys.webhook_endpoint(client_id))).items()
        }
        disabled_at = raw.get("disabled_at", 0)
        return EndpointState(
            enabled=not disabled_at, disabled_at=disabled_at, failing_since=raw.get("failing_since", 0)
        )

    async def attempt_failed(self, client_id: str, now: int) -> int:
        """Note a failed attempt; the time of the first failure since the last success."""
        key = keys.webhook_endpoint(client_id)
        await self.redis.hsetnx(key, "failing_since", now)
        return int(await self.redis.hget(key, "failing_since") or now)

    async def attempt_succeeded(self, client_id: str) -> None:
        await self.redis.hdel(keys.webhook_endpoint(client_id), "failing_since")

    async def disable(self, client_id: str, now: int) -> None:
        await self.redis.hsetnx(keys.webhook_endpoint(client_id), "disabled_at", now)

    async def enable(self, client_id: str) -> None:
        await self.redis.hdel(keys.webhook_endpoint(client_id), "disabled_at", "failing_since")

    async def forget(self, client_id: str) -> None:
        """Everything of a deleted app: its log, endpoint state and slots (one slot, one command)."""
        await self.redis.delete(
            keys.webhook_log(client_id),
            keys.webhook_deliveries(client_id),
            keys.webhook_endpoint(client_id),
            keys.webhook_in_flight(client_id),
        )

    async def take_slot(self, client_id: str, attempt: str, *, now_ms: int, hold_ms: int, limit: int) -> bool:
        args = [now_ms, now_ms + hold_ms, attempt, limit]
        return bool(await self._scripts.run(_TAKE, [keys.webhook_in_flight(client_id)], args))

    async def release_slot(self, client_id: str, attempt: str) -> None:
        await self.redis.zrem(keys.webhook_in_flight(client_id), attempt)
