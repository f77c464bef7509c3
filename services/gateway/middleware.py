"""Gateway middlewares: request id and one canonical log line per request, metrics, and the one
place where errors become HTTP responses (RFC 6749 §5.2 JSON, or an HTML error page)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from services.gateway.keys import METRICS, REQUEST_ID, REQUEST_IDS
from services.gateway.rendering import json_response, render, wants_json
from services.gateway.sessions import get_session
from shared.errors import (
    BearerTokenRequired,
    InsufficientScope,
    InvalidClient,
    InvalidToken,
    NotFound,
    OAuthError,
    ServerError,
    TemporarilyUnavailable,
    TooManyRequests,
    UnsupportedEncoding,
    ValidationFailed,
)
from shared.store import UNAVAILABLE

log = structlog.get_logger("mavio.gateway")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def oauth_error_response(request: web.Request, exc: OAuthError) -> web.Response:
    """The single mapping from OAuthError to an HTTP response."""
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if isinstance(exc, InvalidClient) and getattr(exc, "basic", False):
        headers["WWW-Authenticate"] = 'Basic realm="mavio", charset="UTF-8"'
    challenge = bearer_challenge(exc)
    if challenge:
        headers["WWW-Authenticate"] = challenge
    if isinstance(exc, TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, UnsupportedEncoding) and exc.content_coding:
        headers["Accept-Encoding"] = "identity"  # RFC 7694 §3
    if wants_json(request):
        body: dict[str, object] = {"error": exc.error}
        if exc.description:
            body["error_description"] = exc.description
        if isinstance(exc, ValidationFailed):
            body["fields"] = exc.fields
        return json_response(body, status=exc.status, headers=headers)
    resp = render(request, "error.html", {"error": exc}, status=exc.status)
    resp.headers.update(headers)
    return resp


def bearer_challenge(exc: OAuthError) -> str:
    """RFC 6750 §3: a protected resource's (UserInfo's) challenge; bare when no token was sent."""
    if isinstance(exc, BearerTokenRequired):
        return "Bearer"
    if isinstance(exc, InvalidToken | InsufficientScope):
        description = exc.description.replace('"', "'")
        return f'Bearer error="{exc.error}", error_description="{description}"'
    return ""


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = request.headers.get("X-Request-Id", "")[:64] or request.app[REQUEST_IDS].next()
    request[REQUEST_ID] = request_id
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    started = time.perf_counter()
    status = 500
    try:
        resp = await _handle(request, handler)
        status = resp.status
        resp.headers["X-Request-Id"] = request_id
        return resp
    finally:
        elapsed = time.perf_counter() - started
        route = request.match_info.route.resource
        name = route.canonical if route is not None else "unmatched"
        request.app[METRICS].observe(name, request.method, status, elapsed)
        if not request.path.startswith(("/healthz", "/metrics", "/static/")):
            log.info(
                "http", method=request.method, path=request.path, status=status, ms=round(elapsed * 1000, 1)
            )


async def _handle(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except OAuthError as exc:
        if exc.debug:
            log.info("oauth error", error=exc.error, debug=exc.debug)
        return oauth_error_response(request, exc)
    except web.HTTPException as exc:
        if exc.status == 404:
            return await not_found(request)
        if exc.status >= 400 and exc.status != 405 and not exc.text:
            return oauth_error_response(request, _http_error(exc))
        raise
    except UNAVAILABLE as exc:  # Redis away (sessions, rate limits): a clear 503, not a 500
        log.warning("redis unavailable", debug=str(exc))
        return oauth_error_response(request, TemporarilyUnavailable("storage is not reachable"))
    except Exception:
        log.exception("unhandled error")
        err = ServerError(f"unexpected error (request id {request[REQUEST_ID]})")
        return oauth_error_response(request, err)


def _http_error(exc: web.HTTPException) -> OAuthError:
    err = ServerError(exc.reason)
    err.status = exc.status  # type: ignore[misc]
    return err


async def not_found(request: web.Request) -> web.Response:
    """404: JSON for API callers; the HTML page keeps a signed-in user's navigation."""
    if wants_json(request):
        return oauth_error_response(request, NotFound("no such resource"))
    try:
        await get_session(request)
    except Exception:  # the page must render even when the session store is unreachable
        log.warning("404 page without the session", exc_info=True)
    return render(request, "not_found.html", status=404)
