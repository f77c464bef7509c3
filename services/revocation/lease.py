"""A Redis lease: at most one sweeper works at a time; a holder that dies is taken over when its
lease expires (it is never renewed again). Renew and release only act for the current holder
(``lua/lease_renew.lua``, ``lua/lease_release.lua``)."""

from __future__ import annotations

import uuid

from shared.script_runner import LuaScript, ScriptRunner
from shared.store import Redis

_RENEW = LuaScript.load(__package__, "lease_renew")
_RELEASE = LuaScript.load(__package__, "lease_release")


class Lease:
    def __init__(self, redis: Redis, key: str, *, ttl_ms: int, holder: str | None = None) -> None:
        self.redis = redis
        self.key = key
        self.ttl_ms = ttl_ms
        self.holder = holder or uuid.uuid4().hex
        self._scripts = ScriptRunner(redis)

    async def acquire(self) -> bool:
        """Take the lease if free; renew it if we already hold it."""
        if await self.redis.set(self.key, self.holder, nx=True, px=self.ttl_ms):
            return True
        return await self.renew()

    async def renew(self) -> bool:
        return bool(await self._scripts.run(_RENEW, [self.key], [self.holder, self.ttl_ms]))

    async def release(self) -> None:
        await self._scripts.run(_RELEASE, [self.key], [self.holder])
