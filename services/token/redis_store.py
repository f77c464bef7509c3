"""Redis implementation of every contract in ``services.token.store`` (the only token module doing I/O).

Family operations are single Lua scripts in the family's slot (``services.token.lua``); the per-app,
per-user and sweeper indexes live in other slots and are updated by one script per slot, concurrently.
"""

from __future__ import annotations

import asyncio
from typing import Any

from services.token import lua
from services.token.reads import CoalescingReader
from services.token.store import (
    CodeTaken,
    FirstPair,
    Refused,
    Replayed,
    Reused,
    Revoked,
    Rotated,
    Rotation,
)
from shared import keys
from shared.store import Redis

_REFUSALS = {
    b"unknown": Refused("unknown"),
    b"revoked": Refused("revoked"),
    b"wrong_client": Refused("wrong_client"),
    b"invalid_scope": Refused("invalid_scope"),
}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _revoked(family: str, parts: list[Any]) -> Revoked:
    return Revoked(family, _text(parts[0]), _text(parts[1]), int(parts[2]))


def _expiry_member(client_id: str, family: str, user_id: str) -> str:
    return keys.expiry_member(client_id, family, user_id)


class RedisTokenStore:
    """Codes, access and refresh tokens, families, indexes and call counters in one Redis (or Cluster).

    ``hold_ttl`` is how long a consumed code's family marker lives when no token follows (the code TTL);
    ``tombstone_ttl`` the least time a revoked family stays refused; ``replay_window_ms`` the refresh
    replay window; ``access_ttl`` / ``refresh_ttl`` the token lifetimes in seconds.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        access_ttl: int,
        refresh_ttl: int,
        replay_window_ms: int,
        hold_ttl: int,
        cluster: bool = False,
    ) -> None:
        self._redis = redis
        self._reader = CoalescingReader(redis, cluster=cluster)
        self._access_ttl = access_ttl
        self._refresh_ttl = refresh_ttl
        self._window_ms = replay_window_ms
        self._hold_ttl = hold_ttl
        self._consume = redis.register_script(lua.CONSUME_CODE)
        self._issue = redis.register_script(lua.ISSUE_FIRST)
        self._rotate = redis.register_script(lua.ROTATE_REFRESH)
        self._revoke = redis.register_script(lua.REVOKE_FAMILY)
        self._app_add = redis.register_script(lua.APP_ADD_FAMILY)
        self._app_remove = redis.register_script(lua.APP_REMOVE_FAMILY)
        self._user_touch = redis.register_script(lua.USER_TOUCH_FAMILY)

    # ---- codes -------------------------------------------------------------------------------

    async def consume(self, family: str, signature: str, *, now: int) -> CodeTaken | Reused | Refused:
        family_keys = [keys.code(family, signature), *self._family_keys(family)]
        out = await self._consume(keys=family_keys, args=[now, self._hold_ttl, self._hold_ttl])
        match out[0]:
            case b"ok":
                return CodeTaken(out[1])
            case b"reused":
                return Reused(_revoked(family, out[1:]))
        return _REFUSALS[out[0]]

    # ---- access and refresh tokens -------------------------------------------------------------

    async def get_access(self, family: str, signature: str) -> bytes | None:
        return await self._reader.get(keys.access_token(family, signature))

    async def get_refresh(self, family: str, signature: str) -> bytes | None:
        raw: bytes | None = await self._redis.get(keys.refresh_token(family, signature))
        return raw

    async def rotate(self, rotation: Rotation, *, now: int) -> Rotated | Replayed | Reused | Refused:
        fam = rotation.family
        family_keys = self._family_keys(fam)
        script_keys = [
            keys.refresh_token(fam, rotation.presented_sig),
            *family_keys,
            keys.refresh_replay(fam, rotation.presented_sig),
            keys.access_token(fam, rotation.access_sig),
            keys.refresh_token(fam, rotation.refresh_sig),
        ]
        args = [
            now,
            rotation.client_id,
            rotation.scope,
            self._window_ms,
            rotation.sealed,
            self._access_ttl,
            self._refresh_ttl,
            self._hold_ttl,
        ]
        out = await self._rotate(keys=script_keys, args=args)
        match out[0]:
            case b"rotated":
                return Rotated(_text(out[1]), _text(out[2]))
            case b"replay":
                return Replayed(out[1], _text(out[2]))
            case b"reused":
                return Reused(_revoked(fam, out[1:]))
        return _REFUSALS[out[0]]

    # ---- families ------------------------------------------------------------------------------

    async def issue_first(self, pair: FirstPair, *, now: int) -> bool:
        fam = pair.family
        script_keys = [
            *self._family_keys(fam),
            keys.access_token(fam, pair.access_sig),
            keys.refresh_token(fam, pair.refresh_sig),
        ]
        args = [
            now,
            pair.access_record,
            self._access_ttl,
            pair.refresh_record,
            self._refresh_ttl,
            pair.client_id,
            pair.user_id,
            pair.scope,
        ]
        return bool(await self._issue(keys=script_keys, args=args))

    async def revoke(self, family: str, *, now: int) -> Revoked:
        out = await self._revoke(keys=self._family_keys(family), args=[now, self._hold_ttl])
        return _revoked(family, out)

    @staticmethod
    def _family_keys(family: str) -> list[str]:
        """The three keys every family script takes, in this order: record, members, tombstone."""
        return [keys.family(family), keys.family_members(family), keys.family_revoked(family)]

    # ---- indexes (one script per slot, concurrently) ---------------------------------------------

    async def add_family(
        self, client_id: str, user_id: str, family: str, *, expires_at: int, now: int
    ) -> None:
        await asyncio.gather(
            self._app_add(
                keys=[keys.app_families(client_id), keys.app_grant_users(client_id)],
                args=[family, user_id, expires_at],
            ),
            self._touch_user(client_id, user_id, family, expires_at, now, "NX"),
            self._redis.zadd(
                keys.expiry_queue(), {_expiry_member(client_id, family, user_id): expires_at}, nx=True
            ),
        )

    async def slide_family(
        self, client_id: str, user_id: str, family: str, *, expires_at: int, now: int
    ) -> None:
        await asyncio.gather(
            self._redis.zadd(keys.app_families(client_id), {family: expires_at}, xx=True, gt=True),
            self._touch_user(client_id, user_id, family, expires_at, now, "XX"),
            self._redis.zadd(
                keys.expiry_queue(),
                {_expiry_member(client_id, family, user_id): expires_at},
                xx=True,
                gt=True,
            ),
        )

    async def remove_family(self, client_id: str, user_id: str, family: str) -> None:
        await asyncio.gather(
            self._app_remove(
                keys=[keys.app_families(client_id), keys.app_grant_users(client_id)], args=[family, user_id]
            ),
            self._redis.zrem(keys.user_families(user_id), family),
            self._redis.zrem(keys.expiry_queue(), _expiry_member(client_id, family, user_id)),
        )

    async def _touch_user(
        self, client_id: str, user_id: str, family: str, expires_at: int, now: int, mode: str
    ) -> Any:
        return await self._user_touch(
            keys=[keys.user_families(user_id), keys.user_grants(user_id)],
            args=[family, expires_at, client_id, now, mode],
        )

    # ---- API-call statistics -----------------------------------------------------------------------

    async def add_calls(self, counts: dict[str, int], *, day: str) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for client_id, n in counts.items():
            day_key = keys.app_calls_day(client_id, day)
            pipe.incrby(keys.app_calls_total(client_id), n)
            pipe.incrby(day_key, n)
            pipe.expire(day_key, keys.CALLS_DAY_TTL)
        await pipe.execute()
