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
- No decompression: aiohttp would inflate a ``Content-Encoding: gzip`` body as it arrives (2 MB of
  gzip is 2 GB of work); here bodies stay as sent and ``limits`` answers 415 to any content coding.
- Body bytes are counted as they arrive: once a request's body is over the limit its route declared
  (``limit_body``), its reads fail with ``PayloadTooLarge`` (413), whatever the framing (chunked
  bodies have no ``Content-Length`` to check up front) and however the handler reads.
- A response sent before its request's body was read to the end (413, 408, 415, an early refusal)
  closes the connection: ``Connection: close``, the response, then the write side is shut (the client
  sees the end at once) and the socket is closed ``CLOSE_GRACE`` seconds later, reading nothing more.
  aiohttp would instead keep reading, and discarding, the rest of the body for up to ten seconds.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from services.gateway.keys import SETTINGS
from shared.bus import encode
from shared.config import Settings
from shared.errors import PayloadTooLarge

log = structlog.get_logger("mavio.gateway")

MAX_LINE = 8190  # request line (method, target, version)
MAX_FIELD = 8190  # one header line
MAX_HEADERS = 64
CLOSE_GRACE = 2.0  # seconds between shutting a refused request's connection for writing and closing it


def handler_args(settings: Settings) -> dict[str, Any]:
    """aiohttp ``RequestHandler`` arguments (``web.Application(handler_args=...)``)."""
    return {
        "keepalive_timeout": settings.http_idle_timeout,
        "max_line_size": MAX_LINE,
        "max_field_size": MAX_FIELD,
        "max_headers": MAX_HEADERS,
        "auto_decompress": False,
    }


def limit_body(request: web.Request, limit: int) -> None:
    """Fail the body's reads with ``PayloadTooLarge`` once more than ``limit`` bytes of it arrived."""
    handler = request.protocol
    if isinstance(handler, _Handler):
        handler.body_limit = limit
    if request.content.total_bytes > limit:
        raise too_large(limit)


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the request body must be at most {limit} bytes")


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
    __slots__ = ("_close_timer", "_header_timer", "body_limit")

    def connection_made(self, transport: Any) -> None:
        self._header_timer: asyncio.TimerHandle | None = None
        self._close_timer: asyncio.TimerHandle | None = None
        self.body_limit = 0  # of the request being handled; 0 = none set (yet)
        timeout = getattr(self._manager, "header_timeout", 0.0)
        super().connection_made(transport)
        self._arm_header_timer(timeout)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._check_body_size()
        if self._messages:  # a request's headers are complete
            self._cancel_header_timer()
        elif self._header_timer is None and not self._request_in_progress:
            self._arm_header_timer(getattr(self._manager, "header_timeout", 0.0))  # a new request begins

    def connection_lost(self, exc: BaseException | None) -> None:
        self._cancel_header_timer()
        if self._close_timer is not None:
            self._close_timer.cancel()
        super().connection_lost(exc)

    def _check_body_size(self) -> None:
        request = self._current_request
        if request is None or not self.body_limit:
            return
        content = request.content
        if content.total_bytes > self.body_limit and content.exception() is None:
            content.set_exception(too_large(self.body_limit))

    async def finish_response(
        self, request: BaseRequest, resp: StreamResponse, start_time: float | None
    ) -> tuple[StreamResponse, bool]:
        self.body_limit = 0
        unread = not request.content.is_eof()
        if unread:
            resp.force_close()  # "Connection: close": the rest of the body is never read
        resp, reset = await super().finish_response(request, resp, start_time)
        if unread and not reset:
            self._close_after_response()
        return resp, reset

    def _close_after_response(self) -> None:
        """No lingering: stop reading, send the end of the stream after the response, close soon."""
        self._force_close = True  # aiohttp's loop ends without reading the rest; data_received ignores it
        transport = self.transport
        if transport is None:
            return
        transport.pause_reading()
        if transport.can_write_eof():
            transport.write_eof()
        self._close_timer = self._loop.call_later(CLOSE_GRACE, self.force_close)

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
