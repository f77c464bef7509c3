"""The gateway's HTTP server: aiohttp's, with its connection limits set and its parse errors answered
in our shape.

- Header limits: a request line over ``MAX_LINE`` bytes is 414, a header line over ``MAX_FIELD`` bytes
  or more than ``MAX_HEADERS`` header fields is 431; the body is the RFC 6749 §5.2 JSON and names no
  part of the request (aiohttp's own answer would echo the start of the line, a cookie for example).
- Header read timeout: aiohttp arms its keep-alive timer when a connection opens and re-arms it after
  each response; it closes the connection when the timer fires while no complete request has arrived.
  With ``keepalive_timeout = MAVIO_HTTP_HEADER_TIMEOUT`` a client that drips its headers (or sits idle)
  is disconnected after that many seconds. Body timeouts are ``services.gateway.limits``'s job.
"""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestHandler

from shared.bus import encode
from shared.config import Settings

log = structlog.get_logger("mavio.gateway")

MAX_LINE = 8190  # request line (method, target, version)
MAX_FIELD = 8190  # one header line
MAX_HEADERS = 64


def handler_args(settings: Settings) -> dict[str, Any]:
    """aiohttp ``RequestHandler`` arguments (``web.Application(handler_args=...)``)."""
    return {
        "keepalive_timeout": settings.http_header_timeout,
        "max_line_size": MAX_LINE,
        "max_field_size": MAX_FIELD,
        "max_headers": MAX_HEADERS,
    }


def _parse_error(exc: HttpProcessingError) -> tuple[int, str]:
    """Status and public description of a request aiohttp could not parse (never its text)."""
    if isinstance(exc, LineTooLong):
        line = exc.args[0] if exc.args else b""
        if isinstance(line, str):
            line = line.encode("latin-1", "replace")
        if bytes(line[:1]) == b"/":  # the request target (aiohttp names the line it was reading)
            return 414, "the request target is too long"
        return 431, "a request header field is too large"
    if "too many headers" in str(exc).lower():
        return 431, "the request has too many header fields"
    return 400, "the request is not valid HTTP"


class _Handler(RequestHandler):
    __slots__ = ()

    def handle_error(
        self,
        request: Any,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if status != 400 or not isinstance(exc, HttpProcessingError):
            return super().handle_error(request, status, exc, message)
        code, description = _parse_error(exc)
        log.info("bad http request", status=code, reason=type(exc).__name__)
        body = encode({"error": "invalid_request", "error_description": description})
        resp = web.Response(status=code, body=body, content_type="application/json")
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.force_close()
        return resp


class _Server(web.Server):
    __slots__ = ()

    def __call__(self) -> RequestHandler:
        return _Handler(self, loop=self._loop, **self._kwargs)


class GatewayRunner(web.AppRunner):
    """``web.AppRunner`` whose connections are handled by ``_Handler``."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _Server
        return server
