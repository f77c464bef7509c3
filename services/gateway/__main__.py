"""The gateway process: wiring only."""

from __future__ import annotations

import asyncio
import os

import structlog
from aiohttp import web

from services.gateway.app import create_app
from services.gateway.server import GatewayRunner
from shared.config import Settings, replicas
from shared.lifecycle import run

log = structlog.get_logger("mavio.gateway")


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    runner = GatewayRunner(create_app(settings), access_log=None, handle_signals=False)
    await runner.setup()
    # Several gateway processes on one host share the port: the kernel spreads connections over them.
    shared_port = replicas(os.environ, "gateway") > 1
    site = web.TCPSite(
        runner, settings.http_host, settings.http_port, reuse_address=True, reuse_port=shared_port
    )
    await site.start()
    log.info("gateway listening", url=settings.public_url)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    run(serve, process="gateway")
