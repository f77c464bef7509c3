"""The registry service process: wiring only."""

from __future__ import annotations

import asyncio

from services.registry.handlers import build_routes
from shared import subjects
from shared.config import Settings
from shared.lifecycle import run, serve_bus_service

VERSION = "0.1.0"


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    await serve_bus_service(settings, stop, name=subjects.REGISTRY, version=VERSION, build=build_routes)


if __name__ == "__main__":
    run(serve, process="registry")
