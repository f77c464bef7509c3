"""The revocation service's storage contract and its Redis implementation (the only module here, with
``sweep_store``, that talks to Redis).

Family revocation and the index bookkeeping are the token store's (``RedisTokenStore.revoke`` deletes
every code and token of a family atomically and leaves a tombstone; ``remove_family`` uncounts a family
idempotently); this store adds the reads and writes that only revocation needs. Every multi-key step
stays in one hash slot (``shared.keys``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import msgspec

from services.revocation import lua
from services.token.redis_store import RedisTokenStore
from services.token.store import Revoked
from shared import keys
from shared.records import GrantRecord
from shared.store import Redis

_decode_grant = msgspec.json.Decoder(GrantRecord).decode
CALL_DAYS_KEPT = 32  # day counters expire after 31 days: these cover every one still stored


@dataclass(frozen=True, slots=True)
class AppSnapshot:
    """An app's indexes read in one transaction: counted families, pending codes, counted users."""

    families: list[str]
    pending: list[str]  # ``keys.pending_code_member`` values
    users: list[str]


@dataclass(frozen=True, slots=True)
class Narrowed:
    outcome: Literal["gone", "empty", "same", "narrowed"]
    client_id: str = ""
    user_id: str = ""
    scope: str = ""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RevocationStore(Protocol):
    async def access_record(self, family: str, signature: str) -> bytes | None: ...
    async def refresh_record(self, family: str, signature: str) -> bytes | None: ...
    async def revoke_access(self, family: str, signature: str) -> bool:
        """Delete one access token (and its member entry); True when it existed."""
        ...

    async def revoke_family(self, family: str, *, now: int) -> Revoked:
        """Every code and token of the family gone at once, tombstoned (the token store's script)."""
        ...

    async def uncount(self, client_id: str, user_id: str, family: str) -> None:
        """Remove the family from the app's, the user's and the sweeper's indexes (idempotent)."""
        ...

    async def app_snapshot(self, client_id: str) -> AppSnapshot: ...
    async def pending(self, client_id: str) -> list[str]:
        """``keys.pending_code_member`` values of codes of the app that may not be exchanged yet."""
        ...

    async def forget_pending(self, client_id: str, members: list[str]) -> None: ...
    async def drop_grants(self, client_id: str, user_ids: list[str]) -> None: ...
    async def drop_app(self, client_id: str) -> None:
        """A deleted app: its indexes and API-call counters go too."""
        ...

    async def families_of(self, user_id: str, client_id: str) -> list[str]: ...
    async def user_families(self, user_id: str) -> list[str]: ...
    async def grants(self, user_id: str) -> dict[str, GrantRecord]: ...
    async def counted(self, user_id: str, client_ids: list[str]) -> list[bool]:
        """Whether the user still counts as an active authorization of each app."""
        ...

    async def narrow_family(self, family: str, allowed: frozenset[str]) -> Narrowed: ...
    async def narrow_grant(
        self, user_id: str, client_id: str, allowed: frozenset[str]
    ) -> tuple[Literal["none", "same", "narrowed", "empty"], str]: ...


class RedisRevocationStore:
    def __init__(self, redis: Redis, tokens: RedisTokenStore) -> None:
        self._redis = redis
        self._tokens = tokens
        self._revoke_access = redis.register_script(lua.REVOKE_ACCESS)
        self._narrow_family = redis.register_script(lua.NARROW_FAMILY)
        self._narrow_grant = redis.register_script(lua.NARROW_GRANT)

    # ---- tokens and families -------------------------------------------------------------------

    async def access_record(self, family: str, signature: str) -> bytes | None:
        return await self._tokens.get_access(family, signature)

    async def refresh_record(self, family: str, signature: str) -> bytes | None:
        return await self._tokens.get_refresh(family, signature)

    async def revoke_access(self, family: str, signature: str) -> bool:
        script_keys = [keys.access_token(family, signature), keys.family_members(family)]
        return bool(await self._revoke_access(keys=script_keys, args=[]))

    async def revoke_family(self, family: str, *, now: int) -> Revoked:
        return await self._tokens.revoke(family, now=now)

    async def uncount(self, client_id: str, user_id: str, family: str) -> None:
        await self._tokens.remove_family(client_id, user_id, family)

    # ---- apps ------------------------------------------------------------------------------------

    async def app_snapshot(self, client_id: str) -> AppSnapshot:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrange(keys.app_families(client_id), 0, -1)
            pipe.zrange(keys.app_pending_codes(client_id), 0, -1)
            pipe.hkeys(keys.app_grant_users(client_id))
            families, pending, users = await pipe.execute()
        return AppSnapshot(
            [_text(f) for f in families], [_text(p) for p in pending], [_text(u) for u in users]
        )

    async def pending(self, client_id: str) -> list[str]:
        return [_text(p) for p in await self._redis.zrange(keys.app_pending_codes(client_id), 0, -1)]

    async def forget_pending(self, client_id: str, members: list[str]) -> None:
        if members:
            await self._redis.zrem(keys.app_pending_codes(client_id), *members)

    async def drop_grants(self, client_id: str, user_ids: list[str]) -> None:
        if not user_ids:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                pipe.hdel(keys.user_grants(user_id), client_id)
            await pipe.execute()

    async def drop_app(self, client_id: str) -> None:
        today = dt.datetime.now(dt.UTC).date()
        days = [(today - dt.timedelta(days=n)).strftime("%Y%m%d") for n in range(CALL_DAYS_KEPT)]
        await self._redis.delete(
            keys.app_families(client_id),
            keys.app_grant_users(client_id),
            keys.app_pending_codes(client_id),
            keys.app_calls_total(client_id),
            *(keys.app_calls_day(client_id, day) for day in days),
        )

    # ---- users ----------------------------------------------------------------------------------

    async def families_of(self, user_id: str, client_id: str) -> list[str]:
        """The user's counted families of the app: the user's family index, matched in the app's."""
        families = await self.user_families(user_id)
        if not families:
            return []
        scores = await self._redis.zmscore(keys.app_families(client_id), families)
        return [f for f, score in zip(families, scores, strict=True) if score is not None]

    async def user_families(self, user_id: str) -> list[str]:
        return [_text(f) for f in await self._redis.zrange(keys.user_families(user_id), 0, -1)]

    async def grants(self, user_id: str) -> dict[str, GrantRecord]:
        raw = await self._redis.hgetall(keys.user_grants(user_id))
        out: dict[str, GrantRecord] = {}
        for client_id, value in raw.items():
            try:
                out[_text(client_id)] = _decode_grant(value)
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue
        return out

    async def counted(self, user_id: str, client_ids: list[str]) -> list[bool]:
        if not client_ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for client_id in client_ids:
                pipe.hexists(keys.app_grant_users(client_id), user_id)
            return [bool(x) for x in await pipe.execute()]

    async def narrow_family(self, family: str, allowed: frozenset[str]) -> Narrowed:
        script_keys = [keys.family(family), keys.family_members(family), keys.family_revoked(family)]
        out = await self._narrow_family(keys=script_keys, args=[" ".join(sorted(allowed))])
        parts = [_text(x) for x in out]
        match parts:
            case ["empty", client_id, user_id]:
                return Narrowed("empty", client_id, user_id)
            case [("same" | "narrowed") as outcome, client_id, user_id, scope]:
                return Narrowed(outcome, client_id, user_id, scope)
        return Narrowed("gone")

    async def narrow_grant(
        self, user_id: str, client_id: str, allowed: frozenset[str]
    ) -> tuple[Literal["none", "same", "narrowed", "empty"], str]:
        out = await self._narrow_grant(
            keys=[keys.user_grants(user_id)], args=[" ".join(sorted(allowed)), client_id]
        )
        parts = [_text(x) for x in out]
        match parts:
            case [("same" | "narrowed" | "empty") as outcome, scope]:
                return outcome, scope
        return "none", ""
