"""What each user granted each app (``GrantRecord`` in the user's grants hash): written at consent,
read by connected apps and stats, narrowed by plan changes, dropped by revocations and the sweeper."""

from __future__ import annotations

from typing import Literal

import msgspec
import structlog

from shared.grants import keys
from shared.grants.base import GrantStoreBase, text
from shared.grants.records import GrantRecord
from shared.grants.scripts import script

_NARROW_GRANT_SCOPE = script("narrow_grant_scope")

log = structlog.get_logger("mavio.grants")
_decode_grant = msgspec.json.Decoder(GrantRecord).decode


class RedisConsents(GrantStoreBase):
    async def get_grant(self, user_id: str, client_id: str) -> GrantRecord | None:
        raw = await self._redis.hget(keys.user_grants(user_id), client_id)
        if raw is None:
            return None
        try:
            return _decode_grant(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("unreadable grant record replaced", client_id=client_id, debug=str(exc))
            return None

    async def save_grant(self, user_id: str, grant: GrantRecord) -> None:
        await self._redis.hset(keys.user_grants(user_id), grant.client_id, msgspec.json.encode(grant))

    async def grants(self, user_id: str) -> dict[str, GrantRecord]:
        raw = await self._redis.hgetall(keys.user_grants(user_id))
        out: dict[str, GrantRecord] = {}
        for client_id, value in raw.items():
            try:
                out[text(client_id)] = _decode_grant(value)
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue
        return out

    async def drop_grants(self, client_id: str, user_ids: list[str]) -> None:
        if not user_ids:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                pipe.hdel(keys.user_grants(user_id), client_id)
            await pipe.execute()

    async def narrow_grant(
        self, user_id: str, client_id: str, allowed: frozenset[str]
    ) -> tuple[Literal["none", "same", "narrowed", "empty"], str]:
        out = await self._run(
            _NARROW_GRANT_SCOPE, [keys.user_grants(user_id)], [" ".join(sorted(allowed)), client_id]
        )
        match [text(x) for x in out]:
            case [("same" | "narrowed" | "empty") as outcome, scope]:
                return outcome, scope
        return "none", ""
