"""Failed client authentications at ``/oauth/token``, ``/oauth/revoke`` and ``/oauth/introspect``,
counted in Redis (``ratelimit.Counters``, shared by every replica) per (``client_id``, address) pair
and per client address (an IPv6 address counted as its /64).

The throttle never refuses a request that presents the right secret: every request is authenticated
first, and only a *failed* authentication is counted and answered by the throttle. Past
MAVIO_CLIENT_AUTH_MAX_FAILURES failures in a window for the pair, or five times that for the address
(a spray of client ids, malformed credentials), a failure is answered 429 with ``Retry-After`` and
``temporarily_unavailable`` instead of 401. So nobody can lock an app out of the token endpoint by
sending wrong secrets for its ``client_id`` (anyone can read it in an authorization URL), from any
number of addresses, nor by sharing an address with it; guessing is no risk against ~238-bit
secrets. A client whose authentications succeed costs no Redis command.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from services.gateway.client_address import throttle_subject
from services.gateway.keys import SETTINGS
from services.gateway.throttle import counters
from shared.errors import TooManyRequests

ADDRESS_FACTOR = 5
OVER = "too many failed client authentications; retry after the Retry-After delay"


def _subjects(request: web.Request, client_id: str) -> list[tuple[str, str, int]]:
    """(kind, subject, limit) for the address and, when there is a client id, the pair."""
    limit = request.app[SETTINGS].client_auth_max_failures
    address = throttle_subject(request.remote or "")
    subjects = [("client-address", address, ADDRESS_FACTOR * limit)]
    if client_id:
        subjects.append(("client-pair", f"{client_id}\n{address}", limit))
    return subjects


async def failed(request: web.Request, client_id: str) -> TooManyRequests | None:
    """Count one failed authentication; the 429 to answer instead of the 401 when it is over a limit."""
    c = counters(request)
    subjects = _subjects(request, client_id)
    counts = await asyncio.gather(*(c.hit(c.key(kind, subject)) for kind, subject, _ in subjects))
    waits = [n.retry_after for n, (_, _, cap) in zip(counts, subjects, strict=True) if n.value > cap]
    return TooManyRequests(OVER, retry_after=max(waits)) if waits else None
