"""Fixed-window counters in Redis, shared by every gateway replica (sign-in and client authentication).

A window starts at a subject's first counted event and lasts ``window`` seconds; the key expires with
it. ``hit`` counts and reads in one MULTI, so concurrent requests each see a distinct count: with a
limit of 10, exactly 10 of 60 simultaneous attempts are let through, wherever they arrive. Subjects
(an email, an address, a client id) are HMAC-keyed, so keys are short and a Redis dump names no one.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass

from shared import keys
from shared.store import Redis

# Undo one count, but never create a key (a refund after the window ended is a no-op).
_REFUND = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end
return 0
"""


@dataclass(frozen=True, slots=True)
class Count:
    value: int  # events counted in the current window, this one included
    retry_after: int  # whole seconds until the window ends (at least 1)


@dataclass(frozen=True, slots=True)
class Counters:
    redis: Redis
    hmac_key: bytes
    window: int  # seconds

    def key(self, kind: str, subject: str) -> str:
        sig = hmac.new(self.hmac_key, f"{kind}:{subject}".encode(), hashlib.sha256).hexdigest()
        return keys.rate_limit(kind, sig)

    async def hit(self, key: str) -> Count:
        """Count one event and return the window's count (atomic with the window's start)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(key, 0, ex=self.window, nx=True)
            pipe.incr(key)
            pipe.pttl(key)
            _, value, pttl = await pipe.execute()
        return Count(int(value), _seconds(pttl, self.window))

    async def refund(self, key: str) -> None:
        await self.redis.eval(_REFUND, 1, key)

    async def clear(self, key: str) -> None:
        await self.redis.delete(key)


def _seconds(pttl: int, window: int) -> int:
    """``Retry-After``: the window's remaining milliseconds rounded up, so waiting it is always enough."""
    return max(1, math.ceil(pttl / 1000)) if pttl and pttl > 0 else window
