"""Bus handlers of the authorize service: decode -> domain -> store -> encode."""

from __future__ import annotations

from typing import Any

from shared.lifecycle import ServiceContext
from shared.service import Route


async def build_routes(ctx: ServiceContext) -> list[Route[Any]]:
    return []
