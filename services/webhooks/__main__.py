"""The webhooks service process: wiring only."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable

from services.webhooks.handlers import build_routes
from services.webhooks.sender import Resolve
from shared import subjects
from shared.config import Settings
from shared.lifecycle import run, serve_bus_service

VERSION = "0.1.0"


async def serve(
    settings: Settings,
    stop: asyncio.Event,
    *,
    clock: Callable[[], float] = time.time,
    resolve: Resolve | None = None,
) -> None:
    """``clock`` and ``resolve`` (the DNS lookup of endpoints) are injected by tests only."""
    build = functools.partial(build_routes, clock=clock, resolve=resolve)
    await serve_bus_service(settings, stop, name=subjects.WEBHOOKS, version=VERSION, build=build)


if __name__ == "__main__":
    run(serve, process="webhooks")
