"""A Redis lease: at most one sweeper works at a time; a holder that dies is taken over when its
lease expires (it is never renewed again). Renew and release only act for the current holder."""

from __future__ import annotations

import uuid

from shared.store import Redis

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Lease:
    def __init__(self, redis: Redis, key: str, *, ttl_ms: int, holder: str | None = None) -> None:
        self.redis = redis
        self.key = key
        self.ttl_ms = ttl_ms
        self.holder = holder or uuid.uuid4().hex
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    async def acquire(self) -> bool:
        """Take the lease if free; renew it if we already hold it."""
        if await self.redis.set(self.key, self.holder, nx=True, px=self.ttl_ms):
            return True
        return await self.renew()

    async def renew(self) -> bool:
        return bool(await self._renew(keys=[self.key], args=[self.holder, self.ttl_ms]))

    async def release(self) -> None:
        await self._release(keys=[self.key], args=[self.holder])
