"""What every Redis implementation in ``shared.grants`` shares: the client, the TTLs, the scripts."""

from __future__ import annotations

from typing import Any

from redis.commands.core import AsyncScript

from shared.grants.reads import CoalescingReader
from shared.grants.scripts import SOURCES, source
from shared.store import Redis


def text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class GrantStoreBase:
    """``hold_ttl`` is how long a consumed code's family marker lives when no token follows (the code TTL)
    and the least time a revoked family stays refused; ``replay_window_ms`` the refresh replay window;
    ``access_ttl`` / ``refresh_ttl`` the token lifetimes in seconds."""

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
        self._scripts: dict[str, AsyncScript] = {
            name: redis.register_script(source(name)) for name in SOURCES
        }

    async def _run(self, script: str, keys: list[str], args: list[Any]) -> Any:
        return await self._scripts[script](keys=keys, args=args)
