"""The aiohttp guard of a resource server's handlers (RFC 6750 §2.1, §3): ``setup_verifier`` puts a
``TokenVerifier`` in the app, ``require_scopes`` answers 400/401/403 with the ``WWW-Authenticate``
challenge, or 503 when verification cannot be had, and puts the answer in the request."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from nats.aio.client import Client as NATS

from shared.errors import InsufficientScope, InvalidToken, OAuthError
from shared.messages.token import Introspection
from shared.metrics import CacheCounters
from shared.verify_client.verifier import TokenVerifier

REALM = "mavio"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

VERIFIER = web.AppKey("mavio_token_verifier", TokenVerifier)
TOKEN_INFO = web.RequestKey("mavio_token_info", Introspection)


def setup_verifier(
    app: web.Application,
    nc: NATS,
    *,
    cache_ttl: float = 0.0,
    timeout: float = 2.0,
    counters: CacheCounters | None = None,
    batch: bool = True,
) -> TokenVerifier:
    """Put a ``TokenVerifier`` in ``app`` (started and closed with the app). ``counters``: the cache's
    hits and misses on the resource server's own registry, e.g.
    ``CacheCounters(shared.metrics.cache_lookups(registry), "verify")``; ``batch=False``: one
    ``token.verify`` message per token instead of one ``token.verify_many`` per event-loop turn."""
    verifier = TokenVerifier(nc, cache_ttl=cache_ttl, timeout=timeout, counters=counters, batch=batch)
    app[VERIFIER] = verifier

    async def lifetime(_: web.Application) -> AsyncIterator[None]:
        await verifier.start()
        yield
        await verifier.close()

    app.cleanup_ctx.append(lifetime)
    return verifier


def _challenge(status: int, error: str = "", description: str = "", scope: str = "") -> web.Response:
    """An RFC 6750 §3 error response: the ``WWW-Authenticate: Bearer`` challenge and a JSON body."""
    params = [f'realm="{REALM}"']
    body: dict[str, str] = {}
    if error:
        params.append(f'error="{error}"')
        body["error"] = error
    if description:
        params.append(f'error_description="{description}"')
        body["error_description"] = description
    if scope:
        params.append(f'scope="{scope}"')
        body["scope"] = scope
    headers = {"WWW-Authenticate": "Bearer " + ", ".join(params), "Cache-Control": "no-store"}
    return web.json_response(body, status=status, headers=headers)


def bearer_token(request: web.Request) -> str | None:
    """The token of ``Authorization: Bearer <token>`` (RFC 6750 §2.1), "" if malformed, None if absent."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    value = value.strip()
    return value if value and " " not in value else ""


def require_scopes(*required: str) -> Callable[[Handler], Handler]:
    """Guard an aiohttp handler: an active Mavio access token carrying every scope in ``required``."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            token = bearer_token(request)
            if token is None:
                return _challenge(401)  # no credentials: no error code (RFC 6750 §3.1)
            if token == "":
                return _challenge(400, "invalid_request", "malformed Authorization header")
            try:
                info = await request.app[VERIFIER].verify(token)
            except OAuthError as exc:
                return web.json_response(
                    {"error": exc.error, "error_description": exc.description}, status=503
                )
            if not info.active:
                return _challenge(401, InvalidToken.error, "the access token is invalid, expired or revoked")
            granted = (info.scope or "").split()
            missing = [s for s in required if s not in granted]
            if missing:
                return _challenge(
                    403,
                    InsufficientScope.error,
                    "the access token lacks a required scope",
                    " ".join(required),
                )
            request[TOKEN_INFO] = info
            return await handler(request)

        return guarded

    return decorate
