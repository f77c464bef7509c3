"""Gateway routes: Settings > Developer > OAuth Apps (pages, confirmations, webhook buttons) and app logos."""

from __future__ import annotations

from aiohttp import web

from services.gateway.developer import actions, leaks, logos, pages, webhook_actions

routes: list[web.AbstractRouteDef] = [
    *pages.routes,
    *actions.routes,
    *webhook_actions.routes,
    *leaks.routes,
    *logos.routes,
]
