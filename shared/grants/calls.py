"""API-call counters per app (a total and one counter per day) and the app's stats read from the
grant family: active authorizations (``shared.grants.active``: the users whose Connected apps list shows
the app) and calls."""

from __future__ import annotations

import datetime as dt
import time

from shared import keys as app_keys
from shared.grants import keys
from shared.grants.active import ActiveAuthorizations
from shared.grants.scripts import script
from shared.messages.registry import AppStats, DayCount
from shared.script_runner import ScriptRunner, Step
from shared.store import Redis

_ADD_CALLS = script("app_add_calls")


class GrantStats:
    def __init__(self, redis: Redis, *, code_ttl: int = 0) -> None:
        """``code_ttl``: only for grants recorded before ``GrantRecord.code_family`` (``active``)."""
        self._redis = redis
        self._scripts = ScriptRunner(redis)
        self._active = ActiveAuthorizations(redis, code_ttl=code_ttl)

    async def add_calls(self, counts: dict[str, int], *, day: str) -> None:
        """Add verified API calls per client id to the total and the ``day`` (YYYYMMDD) counters, each
        with its TTL, for the ids of existing apps only (``lua/app_add_calls.lua``, one per app)."""

        def steps(item: tuple[str, int]) -> list[Step]:
            client_id, n = item
            names = [
                app_keys.app(client_id),
                keys.app_calls_total(client_id),
                keys.app_calls_day(client_id, day),
            ]
            return [Step(_ADD_CALLS, names, [n, keys.CALLS_TOTAL_TTL, keys.CALLS_DAY_TTL])]

        await self._scripts.pipelined(list(counts.items()), steps)

    async def app_stats(self, client_id: str, days: list[dt.date]) -> AppStats:
        """Active authorizations, total calls and calls on each of ``days`` (zeros when absent)."""
        day_keys = [keys.app_calls_day(client_id, d.strftime("%Y%m%d")) for d in days]
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(keys.app_calls_total(client_id))
            pipe.mget(day_keys)
            total, per_day = await pipe.execute()
        return AppStats(
            active_authorizations=await self._active.count(client_id, now=time.time()),
            api_calls_total=int(total or 0),
            api_calls_by_day=[
                DayCount(day=d.isoformat(), calls=int(n or 0)) for d, n in zip(days, per_day, strict=True)
            ],
        )
