"""The gateway's HTTP server: aiohttp's, with its connection limits set and its parse errors answered
in our shape.

- Header limits: a request line over ``MAX_LINE`` bytes is 414, a header line over ``MAX_FIELD`` bytes
  or more than ``MAX_HEADERS`` header fields is 431; the body is the RFC 6749 §5.2 JSON and names no
  part of the request (aiohttp's own answer would echo the start of the line, a cookie for example).
- Header read timeout (MAVIO_HTTP_HEADER_TIMEOUT): from a connection's opening, and from the first
  byte of each later request, its headers must be complete in that many seconds, else the connection
  is closed; a client dripping its headers cannot hold a connection. Idle keep-alive connections are
  closed after MAVIO_HTTP_IDLE_TIMEOUT (aiohttp's keep-alive timer; keep it above a fronting proxy's
  idle timeout). Body timeouts are ``services.gateway.limits``'s job.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestHandler

from services.gateway.keys import SETTINGS
from shared.bus import encode
from shared.config import Settings

log = structlog.get_logger("mavio.gateway")

MAX_LINE = 8190  # request line (method, target, version)
MAX_FIELD = 8190  # one header line
MAX_HEADERS = 64


def handler_args(settings: Settings) -> dict[str, Any]:
    """aiohttp ``RequestHandler`` arguments (``web.Application(handler_args=...)``)."""
    return {
        "keepalive_timeout": settings.http_idle_timeout,
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
    __slots__ = ("_header_timer",)

    def connection_made(self, transport: Any) -> None:
        self._header_timer: asyncio.TimerHandle | None = None
        timeout = getattr(self._manager, "header_timeout", 0.0)
        super().connection_made(transport)
        self._arm_header_timer(timeout)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._messages:  # a request's headers are complete
            self._cancel_header_timer()
        elif self._header_timer is None and not self._request_in_progress:
            self._arm_header_timer(getattr(self._manager, "header_timeout", 0.0))  # a new request begins

    def connection_lost(self, exc: BaseException | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self, timeout: float) -> None:
        if timeout > 0:
            self._header_timer = self._loop.call_later(timeout, self._headers_too_slow)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self._messages and not self._request_in_progress:
            log.info("connection closed: headers too slow")
            self.force_close()

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
        server.header_timeout = self._app[SETTINGS].http_header_timeout  # type: ignore[attr-defined]
        return server
