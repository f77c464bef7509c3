"""API-call counters per app (a total and one counter per day) and the app's stats read from the
grant family: active authorizations (users counted in the app's index) and calls."""

from __future__ import annotations

import datetime as dt

from shared.grants import keys
from shared.messages.registry import AppStats, DayCount
from shared.store import Redis


class GrantStats:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def add_calls(self, counts: dict[str, int], *, day: str) -> None:
        """Add verified API calls per client id to the total and the ``day`` (YYYYMMDD) counters."""
        pipe = self._redis.pipeline(transaction=False)
        for client_id, n in counts.items():
            day_key = keys.app_calls_day(client_id, day)
            pipe.incrby(keys.app_calls_total(client_id), n)
            pipe.incrby(day_key, n)
            pipe.expire(day_key, keys.CALLS_DAY_TTL)
        await pipe.execute()

    async def app_stats(self, client_id: str, days: list[dt.date]) -> AppStats:
        """Active authorizations, total calls and calls on each of ``days`` (zeros when absent)."""
        day_keys = [keys.app_calls_day(client_id, d.strftime("%Y%m%d")) for d in days]
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hlen(keys.app_grant_users(client_id))
            pipe.get(keys.app_calls_total(client_id))
            pipe.mget(day_keys)
            users, total, per_day = await pipe.execute()
        return AppStats(
            active_authorizations=int(users or 0),
            api_calls_total=int(total or 0),
            api_calls_by_day=[
                DayCount(day=d.isoformat(), calls=int(n or 0)) for d, n in zip(days, per_day, strict=True)
            ],
        )
