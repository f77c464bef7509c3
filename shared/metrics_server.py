"""Each service process's own ``/metrics`` HTTP listener (Prometheus text format).

The port: ``MAVIO_METRICS_PORT`` = 0 takes a free port; otherwise it is a base: the process takes the
first free port of ``base .. base + PORT_SPAN - 1`` (bound and listening at once: a port another
listener holds is skipped, so replicas started together on one host never get the same one), and a
free port if all are taken. In a container (its own network namespace) that is the base itself. The
port taken is announced in the service's ``$SRV.INFO`` metadata (``metrics_port``), which
``mavio-oauth status`` shows. The listener binds ``MAVIO_METRICS_HOST`` (default 127.0.0.1; a
container sets 0.0.0.0 to be scraped).
"""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from shared.config import ConfigError

log = structlog.get_logger("mavio.metrics")

PORT_SPAN = 64  # replicas of every service on one host share base .. base + 63


def bind_port(host: str, base: int, *, span: int = PORT_SPAN) -> socket.socket:
    """A socket bound to ``host`` and the first free port from ``base`` (0: any free port); a host or
    port this process cannot listen on is a ``ConfigError`` naming both variables."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    candidates = [0] if base == 0 else [*range(base, min(base + span, 65536)), 0]
    for port in candidates:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
            sock.listen(128)  # at once: two sockets may share a bound port until one listens
        except OSError as exc:
            sock.close()
            if exc.errno != errno.EADDRINUSE:
                raise ConfigError(
                    f"MAVIO_METRICS_HOST/MAVIO_METRICS_PORT: cannot listen on {host} port {port}: "
                    f"{exc.strerror or exc}"
                ) from None
            continue
        if base and port == 0:
            log.warning("metrics ports taken; using a free port", base=base, span=span)
        return sock
    raise OSError(errno.EADDRINUSE, "no free port")  # pragma: no cover - port 0 always binds


@dataclass
class MetricsServer:
    runner: web.AppRunner
    host: str
    port: int

    async def close(self) -> None:
        await self.runner.cleanup()


async def start_metrics_server(registry: CollectorRegistry, *, host: str, base_port: int) -> MetricsServer:
    """Serve ``registry`` at ``http://host:<port>/metrics``; ``close()`` stops it."""

    async def metrics(_: web.Request) -> web.Response:
        body = generate_latest(registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    sock = bind_port(host, base_port)
    try:
        await web.SockSite(runner, sock).start()
    except BaseException:
        sock.close()
        await runner.cleanup()
        raise
    port = sock.getsockname()[1]
    log.info("metrics listening", url=f"http://{host}:{port}/metrics")
    return MetricsServer(runner, host, port)
