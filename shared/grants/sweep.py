"""The sweeper's Redis operations: its work list (``keys.expiry_queue``), whether a family still has a
live refresh token, and the clean-up of what an expired family leaves behind.

Everything runs on whole batches: on a single Redis each step is one script call per chunk of
families (``scripts.PER_ITEM``, ``ScriptRunner.per_item``: one command and one reply for a hundred
families, where redis-py's per-reply parsing was most of the sweeper's time), on a Redis Cluster a
chunked pipeline of one command or script per family (``ScriptRunner.pipelined``), since a chunk's
families are in many slots.
Uncounting is ``RedisIndexes.remove_family`` in batch form: the same script (``lua/app_remove_family.lua``)
on the same keys, so a family is uncounted at most once whoever removes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from shared.grants import keys
from shared.grants.base import text as _text
from shared.grants.scripts import script
from shared.script_runner import ScriptRunner, Step
from shared.store import Redis

_REFRESH_LEFT = script("refresh_left_ms")
_DROP_IDLE = script("drop_idle_grant")
_APP_REMOVE = script("app_remove_family")
_REFRESH_LEFT_EACH = script("refresh_left_ms_each")
_UNCOUNT_EACH = script("family_uncount_each")
_COUNTED_EACH = script("app_user_counted_each")
_DROP_IDLE_EACH = script("drop_idle_grant_each")


def _uncount_keys(e: DueFamily) -> list[str]:
    return [
        keys.app_families(e.client_id),
        keys.app_grant_users(e.client_id),
        keys.user_families(e.user_id),
        keys.expiry_queue(),
    ]


def _uncount_args(e: DueFamily) -> list[str]:
    return [e.family, e.user_id, keys.expiry_member(e.client_id, e.family, e.user_id)]


@dataclass(frozen=True, slots=True)
class DueFamily:
    """One entry of the sweeper's work list (``keys.expiry_member``)."""

    member: str
    client_id: str
    family: str
    user_id: str


def parse_expiry_member(member: str) -> DueFamily | None:
    parts = member.split(" ")
    if len(parts) != 3 or not all(parts):
        return None
    client_id, family, user_id = parts
    if keys.expiry_member(client_id, family, user_id) != member:
        return None
    return DueFamily(member, client_id, family, user_id)


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

    async def backlog(self, now: float) -> tuple[int, float | None]:
        """How many members are due at ``now``, and the oldest one's due time (None: none)."""
        ...

    async def discard(self, members: list[str]) -> None: ...
    async def uncount(self, entries: list[DueFamily]) -> None:
        """Remove each family from its app's, its user's and the sweeper's indexes (idempotent)."""
        ...

    async def counted(self, pairs: list[tuple[str, str]]) -> list[bool]:
        """For each (client id, user id): does the user still count as an active authorization?"""
        ...

    async def drop_idle_grants(self, pairs: list[tuple[str, str]], *, cutoff: int) -> None:
        """Drop each (client id, user id) grant authorized at or before ``cutoff``."""
        ...


class RedisSweepStore:
    """``cluster``: the families of a batch are in many slots, so each step is a pipeline of one
    command or script per family; on a single Redis, one script call per chunk."""

    def __init__(self, redis: Redis, *, cluster: bool = False) -> None:
        self._redis = redis
        self._cluster = cluster
        self._scripts = ScriptRunner(redis)

    async def due(self, now: float, limit: int) -> list[str]:
        members = await self._redis.zrangebyscore(keys.expiry_queue(), "-inf", now, start=0, num=limit)
        return [_text(m) for m in members]

    async def refresh_left_ms(self, families: list[str]) -> list[int]:
        if not self._cluster:
            marker = [keys.REFRESH_MARKER]
            each = self._scripts.per_item
            replies = await each(_REFRESH_LEFT_EACH, families, _members_key, lambda _: marker)
            return [int(x) for x in replies]

        def steps(family: str) -> list[Step]:
            return [Step(_REFRESH_LEFT, [keys.family_members(family)], [keys.REFRESH_MARKER])]

        return [int(x) for x in await self._scripts.pipelined(families, steps)]

    async def backlog(self, now: float) -> tuple[int, float | None]:
        queue = keys.expiry_queue()
        due = int(await self._redis.zcount(queue, "-inf", now))
        if not due:
            return 0, None
        oldest = await self._redis.zrange(queue, 0, 0, withscores=True)
        return due, float(oldest[0][1]) if oldest else None

    async def reschedule(self, scores: dict[str, float]) -> None:
        if scores:
            await self._redis.zadd(keys.expiry_queue(), scores, xx=True, gt=True)

    async def discard(self, members: list[str]) -> None:
        if members:
            await self._redis.zrem(keys.expiry_queue(), *members)

    async def uncount(self, entries: list[DueFamily]) -> None:
        if not self._cluster:
            await self._scripts.per_item(_UNCOUNT_EACH, entries, _uncount_keys, _uncount_args)
            return

        def steps(e: DueFamily) -> list[Step]:
            app_keys = [keys.app_families(e.client_id), keys.app_grant_users(e.client_id)]
            member = keys.expiry_member(e.client_id, e.family, e.user_id)
            return [
                Step(_APP_REMOVE, app_keys, [e.family, e.user_id]),
                Step.command("ZREM", keys.user_families(e.user_id), e.family),
                Step.command("ZREM", keys.expiry_queue(), member),
            ]

        await self._scripts.pipelined(entries, steps)

    async def counted(self, pairs: list[tuple[str, str]]) -> list[bool]:
        if not self._cluster:
            replies = await self._scripts.per_item(
                _COUNTED_EACH,
                pairs,
                lambda p: [keys.app_grant_users(p[0])],
                lambda p: [p[1]],
            )
            return [bool(x) for x in replies]

        def steps(pair: tuple[str, str]) -> list[Step]:
            return [Step.command("HEXISTS", keys.app_grant_users(pair[0]), pair[1])]

        return [bool(x) for x in await self._scripts.pipelined(pairs, steps)]

    async def drop_idle_grants(self, pairs: list[tuple[str, str]], *, cutoff: int) -> None:
        if not self._cluster:
            await self._scripts.per_item(
                _DROP_IDLE_EACH,
                pairs,
                lambda p: [keys.user_grants(p[1])],
                lambda p: [p[0], cutoff],
            )
            return

        def steps(pair: tuple[str, str]) -> list[Step]:
            return [Step(_DROP_IDLE, [keys.user_grants(pair[1])], [pair[0], cutoff])]

        await self._scripts.pipelined(pairs, steps)


def _members_key(family: str) -> list[str]:
    return [keys.family_members(family)]
