"""Failed client authentications at ``/oauth/token``, ``/oauth/revoke`` and ``/oauth/introspect``,
counted in Redis per ``client_id`` and per client address (``ratelimit.Counters``, shared by every
replica). Past MAVIO_CLIENT_AUTH_MAX_FAILURES in a window for the client id, or five times that for
the address, the endpoint answers 429 with ``Retry-After`` and ``temporarily_unavailable`` before
asking the token service anything; the right secret works again when the window ends.

Only failures are counted, checked before the request: concurrent wrong secrets can overshoot the
limit by the number in flight, which is harmless against ~238-bit secrets, while a busy client's
successful requests never count against it. Redis is asked only about subjects that failed on this
replica within the window (``failure_hints``): a client that authenticates costs no Redis read.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from services.gateway.keys import FAILURE_HINTS, SETTINGS
from services.gateway.throttle import counters
from shared.errors import TooManyRequests

ADDRESS_FACTOR = 5
OVER = "too many failed client authentications; retry after the Retry-After delay"


def _subjects(request: web.Request, client_id: str) -> list[tuple[str, str, int]]:
    """(kind, subject, limit) for the address and, when there is one, the client id."""
    limit = request.app[SETTINGS].client_auth_max_failures
    subjects = [("client-address", request.remote or "", ADDRESS_FACTOR * limit)]
    if client_id:
        subjects.append(("client", client_id, limit))
    return subjects


async def check(request: web.Request, client_id: str) -> None:
    """``TooManyRequests`` when the address or the client id is over its limit in this window."""
    hints = request.app[FAILURE_HINTS]
    if hints.quiet():
        return
    suspects = [s for s in _subjects(request, client_id) if hints.suspect(f"{s[0]}:{s[1]}")]
    if not suspects:
        return
    c = counters(request)
    counts = await c.peek_many([c.key(kind, subject) for kind, subject, _ in suspects])  # one round trip
    waits = [n.retry_after for n, (_, _, cap) in zip(counts, suspects, strict=True) if n.value >= cap]
    if waits:
        raise TooManyRequests(OVER, retry_after=max(waits))


async def failed(request: web.Request, client_id: str) -> None:
    c, hints = counters(request), request.app[FAILURE_HINTS]
    subjects = _subjects(request, client_id)
    for kind, subject, _ in subjects:
        hints.failed(f"{kind}:{subject}")
    await asyncio.gather(*(c.hit(c.key(kind, subject)) for kind, subject, _ in subjects))
