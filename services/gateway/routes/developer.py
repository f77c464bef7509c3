"""Gateway routes: Settings > Developer > OAuth Apps (pages and confirmations) and app logos."""

from __future__ import annotations

from aiohttp import web

from services.gateway.developer import actions, leaks, logos, pages

routes: list[web.AbstractRouteDef] = [*pages.routes, *actions.routes, *leaks.routes, *logos.routes]
