"""The per-app, per-user and sweeper indexes of families: who counts as an active authorization.

Each index lives in another slot than the family (``{a:<client_id>}``, ``{u:<user_id>}``, the sweeper's
work list); each update is one script or command per slot, run concurrently (a refresh's slide: one
pipeline), and idempotent, so a family is counted once and uncounted at most once whoever removes it
(revocation or the sweeper).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from typing import Any

from shared.grants import keys
from shared.grants.active import ActiveAuthorizations
from shared.grants.base import GrantStoreBase, text
from shared.grants.records import GrantRecord
from shared.grants.scripts import script
from shared.grants.storage import AppSnapshot
from shared.script_runner import Step

_TOUCH_USER = script("user_touch_family")
_APP_ADD = script("app_add_family")
_WORK_LIST_ADD = script("work_list_add")
_APP_REMOVE = script("app_remove_family")


def add_family_steps(client_id: str, user_id: str, family: str, *, expires_at: int, now: int) -> list[Step]:
    """``add_family``'s three steps: the app's, the user's and the sweeper's index."""
    app_keys = [keys.app_families(client_id), keys.app_grant_users(client_id)]
    user_keys = [keys.user_families(user_id), keys.user_grants(user_id)]
    member = keys.expiry_member(client_id, family, user_id)
    return [
        Step(_APP_ADD, app_keys, [family, user_id, expires_at]),
        Step(_TOUCH_USER, user_keys, [family, expires_at, client_id, now, "NX"]),
        Step(_WORK_LIST_ADD, [keys.expiry_queue()], [expires_at, member]),
    ]


def add_family_layout(
    client_id: str, user_id: str, family: str, *, expires_at: int, now: int
) -> tuple[list[str], list[Any]]:
    """``add_family_steps``' keys and arguments, concatenated in order: the first three steps of the
    ``first_pair_counted`` sequence (``scripts.SEQUENCES``)."""
    steps = add_family_steps(client_id, user_id, family, expires_at=expires_at, now=now)
    return [k for step in steps for k in step.keys], [a for step in steps for a in step.args]


class RedisIndexes(GrantStoreBase):
    async def add_family(
        self, client_id: str, user_id: str, family: str, *, expires_at: int, now: int
    ) -> None:
        """One pipeline (one round trip on a single Redis), three slots."""
        await self._scripts.pipeline(
            add_family_steps(client_id, user_id, family, expires_at=expires_at, now=now)
        )

    async def slide_family(
        self, client_id: str, user_id: str, family: str, *, expires_at: int, now: int
    ) -> None:
        """After every refresh: one pipeline (one round trip on a single Redis), three slots."""
        member = keys.expiry_member(client_id, family, user_id)
        user_keys = [keys.user_families(user_id), keys.user_grants(user_id)]
        await self._scripts.pipeline(
            [
                Step.command("ZADD", keys.app_families(client_id), "XX", "GT", expires_at, family),
                Step(_TOUCH_USER, user_keys, [family, expires_at, client_id, now, "XX"]),
                Step.command("ZADD", keys.expiry_queue(), "XX", "GT", expires_at, member),
            ]
        )

    async def remove_family(self, client_id: str, user_id: str, family: str) -> None:
        app_keys = [keys.app_families(client_id), keys.app_grant_users(client_id)]
        await asyncio.gather(
            self._run(_APP_REMOVE, app_keys, [family, user_id]),
            self._redis.zrem(keys.user_families(user_id), family),
            self._redis.zrem(keys.expiry_queue(), keys.expiry_member(client_id, family, user_id)),
        )

    async def app_snapshot(self, client_id: str) -> AppSnapshot:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrange(keys.app_families(client_id), 0, -1)
            pipe.zrange(keys.app_pending_codes(client_id), 0, -1)
            pipe.hkeys(keys.app_grant_users(client_id))
            families, pending, users = await pipe.execute()
        return AppSnapshot([text(f) for f in families], [text(p) for p in pending], [text(u) for u in users])

    async def families_of(self, user_id: str, client_id: str) -> list[str]:
        """The user's counted families of the app: the user's family index, matched in the app's."""
        families = await self.user_families(user_id)
        if not families:
            return []
        scores = await self._redis.zmscore(keys.app_families(client_id), families)
        return [f for f, score in zip(families, scores, strict=True) if score is not None]

    async def user_families(self, user_id: str) -> list[str]:
        return [text(f) for f in await self._redis.zrange(keys.user_families(user_id), 0, -1)]

    async def counted(self, user_id: str, client_ids: list[str]) -> list[bool]:
        if not client_ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for client_id in client_ids:
                pipe.hexists(keys.app_grant_users(client_id), user_id)
            return [bool(x) for x in await pipe.execute()]

    async def live_grants(self, pairs: Sequence[tuple[str, GrantRecord]], *, now: float) -> list[bool]:
        return await ActiveAuthorizations(self._redis, code_ttl=self._hold_ttl).live(pairs, now=now)

    async def drop_app(self, client_id: str) -> None:
        today = dt.datetime.now(dt.UTC).date()
        days = [(today - dt.timedelta(days=n)).strftime("%Y%m%d") for n in range(keys.CALLS_DAYS_KEPT)]
        await self._redis.delete(
            keys.app_families(client_id),
            keys.app_grant_users(client_id),
            keys.app_pending_codes(client_id),
            keys.app_calls_total(client_id),
            *(keys.app_calls_day(client_id, day) for day in days),
        )
