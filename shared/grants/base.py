"""What every Redis implementation in ``shared.grants`` shares: the client, the TTLs, the script runner."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from shared.grants.reads import CoalescingReader
from shared.script_runner import LuaScript, ScriptRunner
from shared.store import Redis

# A family refreshed again within this many seconds keeps its index entries (their expiry and the
# grant's "last used" are then up to this stale; the sweeper reschedules a family that is still live).
INDEX_SLIDE_SLACK = 60


def text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class GrantStoreBase:
    """``hold_ttl`` is how long a consumed code's family marker lives when no token follows (the code TTL)
    and the least time a revoked family stays refused; ``replay_window_ms`` the refresh replay window;
    ``access_ttl`` / ``refresh_ttl`` the token lifetimes in seconds; ``slide_slack`` how far (seconds) a
    family's refresh expiry moves before a rotation asks for its indexes to slide (``Rotated.slide``)."""

    def __init__(
        self,
        redis: Redis,
        *,
        access_ttl: int,
        refresh_ttl: int,
        replay_window_ms: int,
        hold_ttl: int,
        cluster: bool = False,
        slide_slack: int = INDEX_SLIDE_SLACK,
    ) -> None:
        self._redis = redis
        self._cluster = cluster
        self._reader = CoalescingReader(redis, cluster=cluster)
        self._access_ttl = access_ttl
        self._refresh_ttl = refresh_ttl
        self._window_ms = replay_window_ms
        self._hold_ttl = hold_ttl
        self._slide_slack = min(slide_slack, refresh_ttl // 10)  # short-lived test families always slide
        self._scripts = ScriptRunner(redis)  # single Redis: one loop iteration's calls share a round trip

    def _run(self, script: LuaScript, keys: list[str], args: list[Any]) -> Awaitable[Any]:
        return self._scripts.run(script, keys, args)
