"""Bearer token verification for Mavio's resource servers: ``TokenVerifier`` and ``require_scopes``.

``TokenVerifier(nc).verify(token)`` asks the token service over the bus and returns its RFC 7662
answer. Malformed tokens are refused locally (shape and checksum). The tokens asked for within one
event-loop turn (concurrent requests of your server) go out together as ONE
``mavio.oauth.v1.token.verify_many`` message, at most ``max_batch`` (default 64) per message, a lone one
as ``mavio.oauth.v1.token.verify``; each caller still gets its own answer, exactly the one ``token.verify``
would give, and nothing changes for you: same signature, same cache, same errors. When the bus cannot
answer (no token service, timeout, bus down, storage down) every caller of that message gets
``TemporarilyUnavailable``, as a lone request would; a caller that is cancelled gives up only its own
answer. ``TokenVerifier(nc, batch=False)``: one ``token.verify`` message per token, as before.

Optional local cache (``cache_ttl`` > 0): active answers are kept at most ``cache_ttl`` seconds (never past
the token's ``exp``), and evicted the moment a revocation-kind event arrives on the bus (tokens revoked,
code or refresh reuse, scopes narrowed, grant expired, app deleted). An answer fetched while such an event
arrived is not cached; after a bus reconnect (events may have been missed) the cache is dropped; while
the bus is down nothing is served from it. Cache hits are reported to the token service in the
background so the app's API-call statistics stay exact.

``require_scopes("meetings:read")`` guards an aiohttp handler (RFC 6750 §3): no token -> 401 with a bare
``WWW-Authenticate: Bearer`` challenge; an inactive token -> 401 ``error="invalid_token"``; missing scopes
-> 403 ``error="insufficient_scope"``. The verifier lives in the app under ``VERIFIER``; the answer is put
in the request under ``TOKEN_INFO``.

The bus requires authentication: connect ``nc`` as your resource service's own bus user
(``shared.bus_auth.RESOURCE``; ``resource`` with ``make run``), e.g.
``nats.connect(url, user="resource", password=..., inbox_prefix="_INBOX.resource")``; it may request
token verification (``token.verify``, ``token.verify_many``), report cached calls and receive the events
of ``subjects.VERIFIER_EVENTS``, nothing else. ``bus_options()`` gives those arguments from
``MAVIO_NATS_URL`` (+ ``MAVIO_NATS_USER``, ``MAVIO_NATS_PASSWORD``) or, when it is unset, from the
running ``make run`` stack's ``resource.env``, with callbacks that log a lost or regained bus in one
line (not a traceback per reconnect attempt): ``nats.connect(**bus_options())``.

One job per module, every public name importable from here: the cached verifier (``verifier``), the
batching of its bus requests (``batch``), the bus connection options (``connection``) and the aiohttp
guard (``guard``).
"""

from __future__ import annotations

from shared.verify_client.connection import bus_options
from shared.verify_client.guard import (
    REALM,
    TOKEN_INFO,
    VERIFIER,
    Handler,
    bearer_token,
    require_scopes,
    setup_verifier,
)
from shared.verify_client.verifier import INACTIVE, TokenVerifier

__all__ = [
    "INACTIVE",
    "REALM",
    "TOKEN_INFO",
    "VERIFIER",
    "Handler",
    "TokenVerifier",
    "bearer_token",
    "bus_options",
    "require_scopes",
    "setup_verifier",
]
