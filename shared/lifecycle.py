"""Process wiring shared by every ``__main__``: settings, logging, NATS connect, signals, health."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import structlog
from nats.aio.client import Client as NATS

from shared import bus_auth, subjects
from shared.bus_client import ChunkedFlushClient
from shared.config import ConfigError, Settings, load_settings
from shared.logging import configure_logging
from shared.metrics import ServiceMetrics
from shared.reply_guard import reply_users
from shared.service import Meta, Route
from shared.store import Redis

log = structlog.get_logger("mavio.lifecycle")

Serve = Callable[[Settings, asyncio.Event], Awaitable[None]]
# nats-py sleeps this many seconds between reconnect attempts; its signature annotates an int, but a
# quarter second is what the fault tests' recovery times rest on (passed untyped, so no checker trips).
RECONNECT_WAIT: dict[str, Any] = {"reconnect_time_wait": 0.25}


def run(serve: Serve, *, process: str) -> None:
    """Entry point: load settings (one-line error and exit 2 when bad), then serve until a signal."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"mavio {process}: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(json=settings.log_json or settings.production, level=settings.log_level)
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a dependency, but stay runnable without it
        pass
    try:
        asyncio.run(_serve_until_signal(serve, settings))
    except ConfigError as exc:  # found only when used (e.g. a metrics address this host does not have)
        print(f"mavio {process}: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


async def _serve_until_signal(serve: Serve, settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await serve(settings, stop)


async def connect_nats(
    settings: Settings, *, name: str, metrics: ServiceMetrics | None = None, writer: bool = False
) -> NATS:
    """Connect, retrying until NATS is reachable; afterwards nats-py reconnects forever by itself.
    ``writer``: as the JetStream writer (bus user ``audit``) instead of this process's own user."""

    async def on_disconnect() -> None:
        log.warning("nats disconnected")
        if metrics is not None:
            metrics.bus_disconnects.inc()

    async def on_reconnect() -> None:
        log.info("nats reconnected")
        if metrics is not None:
            metrics.bus_reconnects.inc()

    async def on_error(exc: Exception) -> None:
        log.warning("nats error", debug=repr(exc))

    delay = 0.1
    while True:
        try:
            nc = ChunkedFlushClient(settings.bus_flush_every)
            await nc.connect(
                servers=settings.nats_url.split(","),
                name=f"mavio-{name}",
                max_reconnect_attempts=-1,
                connect_timeout=2,
                allow_reconnect=True,
                drain_timeout=30,
                disconnected_cb=on_disconnect,
                reconnected_cb=on_reconnect,
                error_cb=on_error,
                **(
                    bus_auth.audit_connect_options(settings) if writer else bus_auth.connect_options(settings)
                ),
                **RECONNECT_WAIT,
            )
            return nc
        except Exception as exc:
            log.warning("nats not reachable yet", debug=repr(exc))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


class HealthRequest(msgspec.Struct, frozen=True, kw_only=True):
    pass


class HealthReply(msgspec.Struct, frozen=True, kw_only=True):
    service: str
    instance: str
    redis: bool


def health_route(service: str, redis: Redis) -> Route[HealthRequest]:
    """``mavio.oauth.v1.<service>.health``: a round trip through this replica and its Redis."""
    instance = uuid.uuid4().hex[:12]

    async def health(_: HealthRequest, __: Meta) -> HealthReply:
        try:
            ok = bool(await redis.ping())
        except Exception:
            ok = False
        return HealthReply(service=service, instance=instance, redis=ok)

    return Route("health", subjects.op(service, "health"), HealthRequest, health)


class ServiceContext:
    """What a service's ``build_routes`` gets: connections and the exit stack for extra resources."""

    def __init__(
        self,
        settings: Settings,
        nc: NATS,
        redis: Redis,
        stack: contextlib.AsyncExitStack,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        from shared.bus import Bus

        self.settings = settings
        self.nc = nc
        self.redis = redis
        self.bus = Bus(nc, timeout=settings.bus_timeout)
        self.stack = stack
        # This process's registry: a service adds its own metrics to ``metrics.registry``.
        self.metrics = metrics if metrics is not None else ServiceMetrics("")
        self._writer: NATS | None = None

    async def jetstream_writer(self) -> NATS:
        """The JetStream writer: a second connection, as bus user ``audit``, that serves no request
        (the audit trail, revocation's command queue). Connected on first use, closed with the service
        (after its requests are drained)."""
        if self._writer is None:
            from shared.shutdown import close_nats

            name = f"{self.metrics.service or 'service'}-jetstream"
            self._writer = await connect_nats(self.settings, name=name, writer=True)
            self.stack.push_async_callback(close_nats, self._writer)
        return self._writer


BuildRoutes = Callable[[ServiceContext], Awaitable[list[Route[Any]]]]


async def serve_bus_service(
    settings: Settings, stop: asyncio.Event, *, name: str, version: str, build: BuildRoutes
) -> None:
    """settings -> connections -> add_service -> wait for the stop signal -> drain.

    The process's metrics are served on their own port (``shared.metrics_server``), announced as
    ``metrics_port`` in the service's ``$SRV.INFO`` metadata, and stopped after the drain."""
    from shared.metrics_server import start_metrics_server
    from shared.service import ServiceRunner
    from shared.store import open_redis

    structlog.contextvars.bind_contextvars(service=name)
    metrics = ServiceMetrics(name)
    async with contextlib.AsyncExitStack() as stack:
        server = await start_metrics_server(
            metrics.registry, host=settings.metrics_host, base_port=settings.metrics_port
        )
        stack.push_async_callback(server.close)
        redis = await stack.enter_async_context(open_redis(settings, metrics.redis))
        nc = await connect_nats(settings, name=name, metrics=metrics)
        ctx = ServiceContext(settings, nc, redis, stack, metrics)
        routes = [health_route(name, redis), *await build(ctx)]
        metadata = {
            "metrics_port": str(server.port),
            "metrics_host": server.host,
            "hostname": socket.gethostname(),
        }
        runner = ServiceRunner(
            nc,
            name=name,
            version=version,
            metrics=metrics,
            metadata=metadata,
            reply_users=reply_users(settings),
        )
        await runner.start(routes)
        await stop.wait()
        log.info("stopping: draining requests", service=name)
        await runner.drain()
