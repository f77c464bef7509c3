"""Sign-in throttling: failed attempts are counted per account and per client address in a fixed
window; past the limit, ``/login`` answers 429 without checking the password at all, so guessing
is slow whichever way it is spread. A successful sign-in clears the account's count.

Counters are keyed by an HMAC of the email or address (``shared.keys.login_failures``). Behind a
reverse proxy the client address is the proxy's unless the proxy is made to pass it on.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from dataclasses import dataclass

from aiohttp import web

from services.gateway.keys import SETTINGS, redis_of
from shared import keys


@dataclass(frozen=True, slots=True)
class Limits:
    per_account: int  # MAVIO_LOGIN_MAX_FAILURES
    per_address: int  # ten times that: many people may share one address
    window: int = 900  # seconds, from the first failure


def limits_of(request: web.Request) -> Limits:
    n = request.app[SETTINGS].login_max_failures
    return Limits(per_account=n, per_address=10 * n)


def _subjects(request: web.Request, email: str) -> tuple[str, str]:
    key = request.app[SETTINGS].hmac_key
    account = hmac.new(key, b"login-account:" + email.strip().lower().encode(), hashlib.sha256).hexdigest()
    address = hmac.new(key, b"login-address:" + (request.remote or "").encode(), hashlib.sha256).hexdigest()
    return keys.login_failures(account), keys.login_failures(address)


async def retry_after(request: web.Request, email: str) -> int:
    """Seconds until another attempt is allowed (0: allowed now)."""
    limits = limits_of(request)
    redis = redis_of(request.app)
    account, address = _subjects(request, email)
    counts = await asyncio.gather(redis.get(account), redis.get(address))
    over = [
        key
        for key, raw, limit in zip(
            (account, address), counts, (limits.per_account, limits.per_address), strict=True
        )
        if raw is not None and int(raw) >= limit
    ]
    if not over:
        return 0
    ttls = await asyncio.gather(*(redis.ttl(k) for k in over))
    return max(1, *(int(t) for t in ttls))


async def record_failure(request: web.Request, email: str) -> None:
    limits = limits_of(request)
    redis = redis_of(request.app)
    for key in _subjects(request, email):
        async with redis.pipeline(transaction=True) as pipe:
            pipe.set(key, 0, ex=limits.window, nx=True)  # the window starts at the first failure
            pipe.incr(key)
            await pipe.execute()


async def record_success(request: web.Request, email: str) -> None:
    account, _ = _subjects(request, email)
    await redis_of(request.app).delete(account)
