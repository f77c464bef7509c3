"""Sign-in throttling: attempts are counted per account and per client address *before* the password is
checked, atomically in Redis (``ratelimit.Counters``), so no burst gets more than the limit checked.

- An attempt reserves one count on the account (limit MAVIO_LOGIN_MAX_FAILURES) and on the address
  (ten times that: many people may share one address). Over either limit: 429 without a check.
- A success clears the account's count and gives the address its count back; anything else (a wrong
  password, a registry that timed out) keeps it: a failure is whatever is not a success.
- Hashes in flight are bounded per gateway process (``sign_in_gate``): at most MAVIO_LOGIN_CONCURRENCY
  checks at once, and at most ``PER_ADDRESS`` of them from one address. A request that finds no slot
  gets 429 (its address already has its share) or 503 (every slot busy) at once, without being
  counted, so a flood is refused quickly while a sign-in from elsewhere still gets a slot.

The address is ``request.remote`` as ``services.gateway.limits`` set it (MAVIO_TRUSTED_PROXIES).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiohttp import web

from services.gateway.keys import SETTINGS, redis_of
from services.gateway.ratelimit import Counters

ADDRESS_FACTOR = 10


@dataclass(frozen=True, slots=True)
class Attempt:
    """The keys an attempt counted on; ``retry_after`` > 0 when it is over a limit (nothing checked)."""

    account: str
    address: str
    retry_after: int


def counters(request: web.Request) -> Counters:
    settings = request.app[SETTINGS]
    return Counters(redis_of(request.app), settings.hmac_key, settings.rate_limit_window)


async def begin(request: web.Request, email: str) -> Attempt:
    """Count this attempt on the account and the address; over a limit, ``retry_after`` says how long."""
    limit = request.app[SETTINGS].login_max_failures
    c = counters(request)
    account = c.key("login-account", email.strip().lower())
    address = c.key("login-address", request.remote or "")
    counts = await asyncio.gather(c.hit(account), c.hit(address))
    over = [
        n.retry_after for n, cap in zip(counts, (limit, ADDRESS_FACTOR * limit), strict=True) if n.value > cap
    ]
    return Attempt(account, address, max(over, default=0))


async def succeeded(request: web.Request, attempt: Attempt) -> None:
    c = counters(request)
    await asyncio.gather(c.clear(attempt.account), c.refund(attempt.address))
