"""``/favicon.ico``: browsers ask every site for it, so it is answered (never a 404), from ``static/``."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

routes = web.RouteTableDef()

FAVICON = Path(__file__).resolve().parents[1] / "static" / "favicon.ico"


@routes.get("/favicon.ico")
async def favicon(request: web.Request) -> web.FileResponse:
    return web.FileResponse(
        FAVICON, headers={"Content-Type": "image/x-icon", "Cache-Control": "public, max-age=86400"}
    )
