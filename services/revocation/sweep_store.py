"""The sweeper's Redis operations: its work list (``keys.expiry_queue``), whether a family still has a
live refresh token, and the clean-up of what an expired family leaves behind. Uncounting itself is the
token store's ``remove_family`` (the one place that knows every index a family is counted in)."""

from __future__ import annotations

from typing import Any, Protocol

from services.revocation import lua
from services.revocation.batching import gather_bounded
from services.token.redis_store import RedisTokenStore
from shared import keys
from shared.store import Redis


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class SweepStore(Protocol):
    async def due(self, now: float, limit: int) -> list[str]:
        """Up to ``limit`` work-list members whose expiry is at or before ``now``, oldest first."""
        ...

    async def refresh_left_ms(self, families: list[str]) -> list[int]:
        """Per family, milliseconds its longest-lived refresh token has left (0: none)."""
        ...

    async def reschedule(self, scores: dict[str, float]) -> None:
        """Move still-live members to their real expiry (never earlier)."""
        ...

    async def discard(self, members: list[str]) -> None: ...
    async def uncount(self, client_id: str, user_id: str, family: str) -> None: ...
    async def counted(self, pairs: list[tuple[str, str]]) -> list[bool]:
        """For each (client id, user id): does the user still count as an active authorization?"""
        ...

    async def drop_idle_grants(self, pairs: list[tuple[str, str]], *, cutoff: int) -> None:
        """Drop each (client id, user id) grant authorized at or before ``cutoff``."""
        ...


class RedisSweepStore:
    def __init__(self, redis: Redis, tokens: RedisTokenStore) -> None:
        self._redis = redis
        self._tokens = tokens
        self._refresh_left = redis.register_script(lua.REFRESH_LEFT_MS)
        self._drop_idle = redis.register_script(lua.DROP_IDLE_GRANT)

    async def due(self, now: float, limit: int) -> list[str]:
        members = await self._redis.zrangebyscore(keys.expiry_queue(), "-inf", now, start=0, num=limit)
        return [_text(m) for m in members]

    async def refresh_left_ms(self, families: list[str]) -> list[int]:
        async def left(family: str) -> int:
            return int(await self._refresh_left(keys=[keys.family_members(family)], args=[]))

        return await gather_bounded(families, left)

    async def reschedule(self, scores: dict[str, float]) -> None:
        if scores:
            await self._redis.zadd(keys.expiry_queue(), scores, xx=True, gt=True)

    async def discard(self, members: list[str]) -> None:
        if members:
            await self._redis.zrem(keys.expiry_queue(), *members)

    async def uncount(self, client_id: str, user_id: str, family: str) -> None:
        await self._tokens.remove_family(client_id, user_id, family)

    async def counted(self, pairs: list[tuple[str, str]]) -> list[bool]:
        if not pairs:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for client_id, user_id in pairs:
                pipe.hexists(keys.app_grant_users(client_id), user_id)
            return [bool(x) for x in await pipe.execute()]

    async def drop_idle_grants(self, pairs: list[tuple[str, str]], *, cutoff: int) -> None:
        async def drop(pair: tuple[str, str]) -> None:
            client_id, user_id = pair
            await self._drop_idle(keys=[keys.user_grants(user_id)], args=[client_id, cutoff])

        await gather_bounded(pairs, drop)
