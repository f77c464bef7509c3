"""Failed client authentications at ``/oauth/token``, ``/oauth/revoke`` and ``/oauth/introspect``,
counted in Redis per ``client_id`` and per client address (``ratelimit.Counters``, shared by every
replica). Past MAVIO_CLIENT_AUTH_MAX_FAILURES in a window for the client id, or five times that for
the address, the endpoint answers 429 with ``Retry-After`` and ``temporarily_unavailable`` before
asking the token service anything; the right secret works again when the window ends.

Only failures are counted, checked before the request: concurrent wrong secrets can overshoot the
limit by the number in flight, which is harmless against ~238-bit secrets, while a busy client's
successful requests never count against it.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from services.gateway.keys import SETTINGS
from services.gateway.throttle import counters
from shared.errors import TooManyRequests

ADDRESS_FACTOR = 5
OVER = "too many failed client authentications; retry after the Retry-After delay"


def _keys(request: web.Request, client_id: str) -> list[tuple[str, int]]:
    c = counters(request)
    limit = request.app[SETTINGS].client_auth_max_failures
    pairs = [(c.key("client-address", request.remote or ""), ADDRESS_FACTOR * limit)]
    if client_id:
        pairs.append((c.key("client", client_id), limit))
    return pairs


async def check(request: web.Request, client_id: str) -> None:
    """``TooManyRequests`` when the address or the client id is over its limit in this window."""
    c = counters(request)
    pairs = _keys(request, client_id)
    counts = await c.peek_many([key for key, _ in pairs])  # one round trip on the hot path
    waits = [n.retry_after for n, (_, cap) in zip(counts, pairs, strict=True) if n.value >= cap]
    if waits:
        raise TooManyRequests(OVER, retry_after=max(waits))


async def failed(request: web.Request, client_id: str) -> None:
    c = counters(request)
    await asyncio.gather(*(c.hit(key) for key, _ in _keys(request, client_id)))
