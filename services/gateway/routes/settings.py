"""Gateway routes: the Settings pages that lead to the others (``/settings``, ``/settings/developer``)."""

from __future__ import annotations

from aiohttp import web

from services.gateway.sessions import require_session
from services.gateway.web_helpers import page

routes = web.RouteTableDef()


@routes.get("/settings")
async def settings_home(request: web.Request) -> web.Response:
    await require_session(request)
    return page(request, "settings.html")


@routes.get("/settings/developer")
async def developer_home(request: web.Request) -> web.Response:
    await require_session(request)
    return page(request, "developer.html")
