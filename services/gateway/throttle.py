"""Sign-in throttling: attempts are counted per (account, client address) pair and per address
*before* the password is checked, atomically in Redis (``ratelimit.Counters``), so no burst gets more
than the limit checked.

- An attempt reserves one count on the pair (limit MAVIO_LOGIN_MAX_FAILURES) and on the address
  (ten times that: many people may share one address). Over either limit: 429 without a check.
- The account limit slows the failing address, not the account: wrong passwords from one address
  never refuse the right password from another, so nobody can lock someone out of their account
  (and away from Connected apps > Revoke) by failing to sign in as them.
- A success clears the pair's count and gives the address its count back; anything else (a wrong
  password, a registry that timed out) keeps it: a failure is whatever is not a success.
- Hashes in flight are bounded per gateway process (``sign_in_gate``): at most MAVIO_LOGIN_CONCURRENCY
  checks at once, at most ``PER_ADDRESS`` of them from one address, the rest waiting in a fair queue
  for up to MAVIO_LOGIN_QUEUE_WAIT seconds; a sign-in refused there is not counted.

The address is ``request.remote`` as ``services.gateway.limits`` set it (MAVIO_TRUSTED_PROXIES), an
IPv6 address counted as its /64 (``client_address.throttle_subject``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiohttp import web

from services.gateway.client_address import throttle_subject
from services.gateway.keys import SETTINGS, redis_of
from services.gateway.ratelimit import Counters

ADDRESS_FACTOR = 10


@dataclass(frozen=True, slots=True)
class Attempt:
    """The keys an attempt counted on; ``retry_after`` > 0 when it is over a limit (nothing checked)."""

    pair: str
    address: str
    retry_after: int


def counters(request: web.Request) -> Counters:
    settings = request.app[SETTINGS]
    return Counters(redis_of(request.app), settings.hmac_key, settings.rate_limit_window)


async def begin(request: web.Request, email: str) -> Attempt:
    """Count this attempt on the (account, address) pair and the address; over a limit,
    ``retry_after`` says how long."""
    limit = request.app[SETTINGS].login_max_failures
    c = counters(request)
    remote = throttle_subject(request.remote or "")
    pair = c.key("login-pair", f"{email.strip().lower()}\n{remote}")
    address = c.key("login-address", remote)
    counts = await asyncio.gather(c.hit(pair), c.hit(address))
    over = [
        n.retry_after for n, cap in zip(counts, (limit, ADDRESS_FACTOR * limit), strict=True) if n.value > cap
    ]
    return Attempt(pair, address, max(over, default=0))


async def succeeded(request: web.Request, attempt: Attempt) -> None:
    c = counters(request)
    await asyncio.gather(c.clear(attempt.pair), c.refund(attempt.address))
