"""Rate limits at the gateway: fixed-window counters in Redis, shared by every replica, and the two
throttles that count on them, sign-in and client authentication. (``sign_in_gate`` bounds the password
checks in flight in one process, in a fair queue per address: not a counter.)

**Counters.** A window starts at a subject's first counted event and lasts MAVIO_RATE_LIMIT_WINDOW
seconds; the key expires with it. ``hit`` counts and reads in one MULTI, so concurrent requests each see
a distinct count: with a limit of 10, exactly 10 of 60 simultaneous attempts are let through, wherever
they arrive. Subjects (an email, an address, a client id) are HMAC-keyed, so keys are short and a Redis
dump names no one. An address is ``request.remote`` as ``services.gateway.limits`` set it
(MAVIO_TRUSTED_PROXIES), an IPv6 address counted as its /64 (``client_address.throttle_subject``).

**Sign-in** (``sign_in_attempt``, ``sign_in_succeeded``): attempts are counted per (account, address)
pair and per address *before* the password is checked, so no burst gets more than the limit checked.

- An attempt reserves one count on the pair (limit MAVIO_LOGIN_MAX_FAILURES) and on the address (ten
  times that: many people may share one address). Over either limit: 429 without a check.
- The account limit slows the failing address, not the account: wrong passwords from one address never
  refuse the right password from another, so nobody can lock someone out of their account (and away
  from Connected apps > Revoke) by failing to sign in as them.
- A success clears the pair's count and gives the address its count back; anything else (a wrong
  password, a registry that timed out) keeps it: a failure is whatever is not a success.
- A sign-in refused by ``sign_in_gate`` (MAVIO_LOGIN_CONCURRENCY, MAVIO_LOGIN_QUEUE_WAIT) is not counted.

**Client authentication** (``client_auth_failed``): failed authentications at ``/oauth/token``,
``/oauth/revoke`` and ``/oauth/introspect``, per (``client_id``, address) pair and per address. The
throttle never refuses a request that presents the right secret: every request is authenticated first,
and only a *failed* authentication is counted and answered by the throttle. Past
MAVIO_CLIENT_AUTH_MAX_FAILURES failures in a window for the pair, or five times that for the address (a
spray of client ids, malformed credentials), a failure is answered 429 with ``Retry-After`` and
``temporarily_unavailable`` instead of 401. So nobody can lock an app out of the token endpoint by
sending wrong secrets for its ``client_id`` (anyone can read it in an authorization URL), from any
number of addresses, nor by sharing an address with it; guessing is no risk against ~238-bit secrets.
A client whose authentications succeed costs no Redis command.

**User codes on /device** (``device_code_attempt``, ``device_code_found``; RFC 8628 §5.1): each code
typed is counted per sign-in session (MAVIO_DEVICE_GUESS_MAX) and per address
(MAVIO_DEVICE_GUESS_ADDRESS_MAX) *before* it is looked up; over either limit, the page answers 429
without a look-up. A code that names a pending device authorization gives its counts back, so only
wrong codes use the allowance: the 20**8 user codes cannot be searched.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
from collections.abc import Sequence
from dataclasses import dataclass

from aiohttp import web

from services.gateway.client_address import throttle_subject
from services.gateway.keys import RATE_LIMITS, SETTINGS
from shared import keys
from shared.errors import TooManyRequests
from shared.script_runner import LuaScript, ScriptRunner
from shared.store import Redis

LOGIN_ADDRESS_FACTOR = 10
CLIENT_ADDRESS_FACTOR = 5
CLIENT_OVER = "too many failed client authentications; retry after the Retry-After delay"
_REFUND = LuaScript.load(__package__, "rate_limit_refund")


@dataclass(frozen=True, slots=True)
class Count:
    value: int  # events counted in the current window, this one included
    retry_after: int  # whole seconds until the window ends (at least 1)


class Counters:
    """The gateway's fixed-window counters (one per gateway process: ``keys.RATE_LIMITS``)."""

    __slots__ = ("_scripts", "hmac_key", "redis", "window")

    def __init__(self, redis: Redis, hmac_key: bytes, window: int) -> None:
        self.redis = redis
        self.hmac_key = hmac_key
        self.window = window  # seconds
        self._scripts = ScriptRunner(redis)

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
        """Undo one count, but never create a key (``lua/rate_limit_refund.lua``)."""
        await self._scripts.run(_REFUND, [key], [])

    async def clear(self, key: str) -> None:
        await self.redis.delete(key)

    async def over(self, limits: Sequence[tuple[str, int]]) -> int:
        """Count one event on each (key, limit); the seconds to wait when any is over its limit, else 0."""
        counts = await asyncio.gather(*(self.hit(key) for key, _ in limits))
        waits = [n.retry_after for n, (_, cap) in zip(counts, limits, strict=True) if n.value > cap]
        return max(waits, default=0)


def _seconds(pttl: int, window: int) -> int:
    """``Retry-After``: the window's remaining milliseconds rounded up, so waiting it is always enough."""
    return max(1, math.ceil(pttl / 1000)) if pttl and pttl > 0 else window


def _address(request: web.Request) -> str:
    return throttle_subject(request.remote or "")


@dataclass(frozen=True, slots=True)
class Attempt:
    """The keys a sign-in attempt counted on; ``retry_after`` > 0 when it is over a limit (nothing
    checked)."""

    pair: str
    address: str
    retry_after: int


async def sign_in_attempt(request: web.Request, email: str) -> Attempt:
    """Count this attempt on the (account, address) pair and the address; over a limit,
    ``retry_after`` says how long."""
    limit = request.app[SETTINGS].login_max_failures
    c, remote = request.app[RATE_LIMITS], _address(request)
    pair = c.key("login-pair", f"{email.strip().lower()}\n{remote}")
    address = c.key("login-address", remote)
    wait = await c.over([(pair, limit), (address, LOGIN_ADDRESS_FACTOR * limit)])
    return Attempt(pair, address, wait)


async def sign_in_succeeded(request: web.Request, attempt: Attempt) -> None:
    c = request.app[RATE_LIMITS]
    await asyncio.gather(c.clear(attempt.pair), c.refund(attempt.address))


async def client_auth_failed(request: web.Request, client_id: str) -> TooManyRequests | None:
    """Count one failed client authentication on the address and, when there is a client id, the
    (client id, address) pair; the 429 to answer instead of the 401 when it is over a limit."""
    limit = request.app[SETTINGS].client_auth_max_failures
    c, address = request.app[RATE_LIMITS], _address(request)
    limits = [(c.key("client-address", address), CLIENT_ADDRESS_FACTOR * limit)]
    if client_id:
        limits.append((c.key("client-pair", f"{client_id}\n{address}"), limit))
    wait = await c.over(limits)
    return TooManyRequests(CLIENT_OVER, retry_after=wait) if wait else None


async def device_code_attempt(request: web.Request, session_binding: str) -> Attempt:
    """Count one user code typed on ``/device`` for this session and this address."""
    settings, c, remote = request.app[SETTINGS], request.app[RATE_LIMITS], _address(request)
    pair = c.key("device-session", session_binding)
    address = c.key("device-address", remote)
    wait = await c.over([(pair, settings.device_guess_max), (address, settings.device_guess_address_max)])
    return Attempt(pair, address, wait)


async def device_code_found(request: web.Request, attempt: Attempt) -> None:
    """The code named a pending device authorization: not a guess, both counts given back."""
    c = request.app[RATE_LIMITS]
    await asyncio.gather(c.refund(attempt.pair), c.refund(attempt.address))
