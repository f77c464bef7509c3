"""Declaring a bus service: nats.micro for discovery ($SRV.PING/INFO/STATS), endpoints in a queue
group named after the service, one task per request (bounded), and a drain that loses nothing.

A handler is ``async def handler(request: RequestStruct, meta: Meta) -> ReplyStruct``; it raises
OAuthError subclasses for protocol errors. Decoding, error envelopes, request-id binding and
logging happen here, once (``ServiceRunner.run``). A batch route (``batch_route``) carries many
requests of another route per message, each run through that route as a single one
(``shared.service_batch``).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar, cast

import msgspec
import nats.micro
import structlog
from nats.aio.client import Client as NATS
from nats.micro.request import Request as MicroRequest
from nats.micro.service import Service

from shared import subjects
from shared.bus import decoder, encode, error_payload
from shared.errors import InvalidRequest, OAuthError, ServerError, TemporarilyUnavailable
from shared.messages.batch import BatchRequest
from shared.metrics import RouteMetrics, ServiceMetrics, outcome_of
from shared.reply_guard import GuardedClient, ReplyGuard
from shared.service_batch import Fanout
from shared.shutdown import bounded, close_nats
from shared.store import UNAVAILABLE
from shared.subjects import REQUEST_ID_HEADER

Req = TypeVar("Req")

log = structlog.get_logger("mavio.service")


@dataclass(frozen=True, slots=True)
class Meta:
    request_id: str
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class Route(Generic[Req]):
    name: str
    subject: str
    request_type: type[Req]
    handler: Callable[[Req, Meta], Awaitable[Any]]
    # Hot-path endpoints skip the per-request log line (they are counted in $SRV.STATS instead).
    quiet: bool = False
    # A batch route's messages carry many requests of this route (``shared.service_batch``).
    batch_of: Route[Any] | None = None
    # Served also on this replica's own subject (``subjects.replica_subject``), for requesters that
    # spread their messages over the replicas by load instead of the queue group's random pick.
    direct: bool = False


def batch_route(
    name: str, subject: str, item: Route[Any], *, direct: bool = False
) -> Route[BatchRequest[Any]]:
    """The route of ``subject``, whose messages carry many requests of ``item`` (served beside it):
    ``ServiceRunner.start`` gives it its handler (``shared.service_batch.Fanout``). ``direct``: each
    replica serves it on its own subject too (``Route.direct``)."""

    async def unserved(_batch: BatchRequest[Any], _meta: Meta) -> None:
        raise RuntimeError("a batch route is served through ServiceRunner.start")

    generic: Any = BatchRequest  # parametrised at run time by the item route's request type
    request_type = generic[item.request_type]
    return Route(name, subject, request_type, unserved, quiet=True, batch_of=item, direct=direct)


class ServiceRunner:
    """One nats.micro service; the ``__main__`` of each service owns exactly one."""

    def __init__(
        self,
        nc: NATS,
        *,
        name: str,
        version: str,
        max_inflight: int = 512,
        metrics: ServiceMetrics | None = None,
        metadata: dict[str, str] | None = None,
        reply_users: tuple[str, ...] | None = None,
    ) -> None:
        self.nc = nc
        self.name = name
        self.version = version
        self.metrics = metrics if metrics is not None else ServiceMetrics(name)
        self._metadata = metadata or {}
        self._max_inflight = max_inflight
        self._inflight: set[asyncio.Task[None]] = set()
        self._service: Service | None = None
        # Replies go only to a known bus user's inbox (``shared.reply_guard``); None: any inbox.
        self.guard = ReplyGuard(reply_users, self.metrics.replies_refused)

    async def start(self, routes: list[Route[Any]]) -> None:
        guarded = cast(NATS, GuardedClient(self.nc, self.guard))  # $SRV answers and endpoints alike
        self._service = await nats.micro.add_service(
            guarded, name=self.name, version=self.version, queue_group=self.name, metadata=self._metadata
        )
        stats_of = {route.subject: _Stats(self.metrics.route(route.subject)) for route in routes}
        for route in routes:
            stats = stats_of[route.subject]
            if route.batch_of is not None:
                fanout = Fanout(self, route.batch_of, stats_of[route.batch_of.subject], self._keep)
                route = replace(route, handler=fanout)
            await self._service.add_endpoint(
                name=route.name.replace(".", "_"),
                subject=route.subject,
                handler=self._spawner(route, stats),
                queue_group=self.name,
            )
            stats.endpoint = self._service._endpoints[-1]
            if route.direct:  # this replica alone: the only member of its queue group on that subject
                await self._service.add_endpoint(
                    name=route.name.replace(".", "_") + "_direct",
                    subject=subjects.replica_subject(route.subject, self._service.id),
                    handler=self._spawner(route, stats),
                    queue_group=self.name,
                )
        await self.nc.flush()
        log.info("service started", service=self.name, endpoints=[r.subject for r in routes])

    def _keep(self, task: asyncio.Task[Any]) -> None:
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    def _spawner(self, route: Route[Any], stats: _Stats) -> Callable[[MicroRequest], Awaitable[None]]:
        async def spawn(req: MicroRequest) -> None:
            if len(self._inflight) >= self._max_inflight:
                await self._dispatch(route, req, stats)  # back-pressure: stop pulling from the socket
                return
            self._keep(asyncio.create_task(self._dispatch(route, req, stats)))

        return spawn

    async def _dispatch(self, route: Route[Any], req: MicroRequest, stats: _Stats) -> None:
        headers = req.headers or {}
        request_id = headers.get(REQUEST_ID_HEADER, "")
        result, error = await self.run(route, stats, request_id, headers, data=req.data)
        reply_headers: dict[str, str] | None = None
        if error is None:
            body = result
        else:
            body, reply_headers = error_payload(error)
        try:
            await req.respond(body, headers=reply_headers)
        except Exception as exc:  # the requester may be gone; nothing to answer
            log.warning("reply not sent", debug=repr(exc))

    async def run(
        self,
        route: Route[Any],
        stats: _Stats,
        request_id: str,
        headers: dict[str, str],
        *,
        data: bytes = b"",
        payload: Any = None,
    ) -> tuple[Any, OAuthError | None]:
        """One request through ``route`` (``data`` to decode, or an already decoded ``payload``: an item
        of a batch): its context bound, handled, counted and logged as every request is. The reply
        (encoded unless ``payload`` was given), or the error to answer with."""
        if not route.quiet:
            self._bind(route, request_id)
        started = time.perf_counter()
        result: Any = None
        error: OAuthError | None = None
        try:
            if payload is None:
                result = await route.handler(self._decode(route, data), Meta(request_id, headers))
                result = result if isinstance(result, bytes) else encode(result)
            else:
                result = await route.handler(payload, Meta(request_id, headers))
        except Exception as exc:
            if route.quiet:  # hot path: context is bound only when there is something to log
                self._bind(route, request_id)
            error = self._error_of(exc, request_id)
        elapsed = time.perf_counter() - started
        stats.done(elapsed, None if error is None else error.error, item=payload is not None)
        if not route.quiet:
            log.debug("handled", ms=round(elapsed * 1000, 2))
        return result, error

    def _bind(self, route: Route[Any], request_id: str) -> None:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            request_id=request_id or uuid.uuid4().hex, service=self.name, op=route.name
        )

    @staticmethod
    def _error_of(exc: Exception, request_id: str) -> OAuthError:
        """The one place where a handler's exception becomes the error it is answered with."""
        if isinstance(exc, OAuthError):
            (log.debug if exc.routine else log.info)(
                "request refused", error=exc.error, debug=exc.debug or None
            )
            return exc
        if isinstance(exc, UNAVAILABLE):
            log.warning("redis unavailable", debug=str(exc))
            return TemporarilyUnavailable("storage is not reachable")
        log.error("unexpected error", exc_info=exc)
        ref = request_id or uuid.uuid4().hex
        return ServerError(f"unexpected error (request id {ref})")

    @staticmethod
    def _decode(route: Route[Any], data: bytes) -> Any:
        try:
            return decoder(route.request_type).decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise InvalidRequest(f"malformed request: {exc}") from None

    async def drain(self, timeout: float = 20.0) -> None:
        """Stop taking requests, finish the in-flight ones, then close the connection.

        nats.micro's own ``stop`` unsubscribes (dropping requests already queued in the client),
        so each endpoint subscription is drained instead: the server stops routing to this
        replica and everything already delivered is still answered. With the bus gone (or going)
        every step is bounded (``shared.shutdown``): a reply can no longer be sent anyway.
        """
        if self._service is not None and self.nc.is_connected:
            subs = [ep._subscription for ep in self._service._endpoints if ep._subscription]
            await bounded((s.drain() for s in subs), timeout)
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=timeout if self.nc.is_connected else 1.0)
        await close_nats(self.nc)
        log.info("service drained", service=self.name)


class _Stats:
    """Where one route's requests are counted: Prometheus (``RouteMetrics``) and ``$SRV.STATS``.

    nats.micro times and counts only its handler call, which here just spawns the request's task, and
    never sees an error reply; so the endpoint's ``num_errors``, ``last_error`` and processing time are
    kept here, once the reply is known (an error reply is one sent with the ``Nats-Service-Error``
    headers, as micro's own ``respond_error`` would)."""

    __slots__ = ("endpoint", "metrics")

    def __init__(self, metrics: RouteMetrics) -> None:
        self.metrics = metrics
        self.endpoint: Any = None  # the nats.micro Endpoint

    def done(self, elapsed: float, error: str | None, *, item: bool = False) -> None:
        """One request answered; ``item``: one of a batch message's, which nats.micro did not count."""
        self.metrics.latency.observe(elapsed)
        endpoint = self.endpoint
        if item and endpoint is not None:
            endpoint._num_requests += 1
        if error is None:
            self.metrics.ok.inc()
        else:
            self.metrics.outcome(outcome_of(error)).inc()
            if endpoint is not None:
                endpoint._num_errors += 1
                endpoint._last_error = error
        if endpoint is not None and endpoint._num_requests:
            endpoint._processing_time += int(elapsed * 1e9)
            endpoint._average_processing_time = endpoint._processing_time // endpoint._num_requests
