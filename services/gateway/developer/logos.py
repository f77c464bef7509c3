"""``/oauth/apps/{client_id}/logo.png``: an app's logo, public (the consent screen shows it).

Read straight from ``keys.app_logo`` (the registry stores only PNGs it re-encoded itself); served
as ``image/png`` with ``nosniff``, a short public cache lifetime and an ETag for revalidation.
"""

from __future__ import annotations

import hashlib

from aiohttp import web

from services.gateway.keys import redis_of
from shared import keys
from shared.tokens import is_client_id

routes = web.RouteTableDef()

CACHE_CONTROL = "public, max-age=300"


@routes.get("/oauth/apps/{client_id}/logo.png")
async def logo(request: web.Request) -> web.Response:
    client_id = request.match_info["client_id"]
    data = await redis_of(request.app).get(keys.app_logo(client_id)) if is_client_id(client_id) else None
    if not data:
        raise web.HTTPNotFound()
    etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    headers = {
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": CACHE_CONTROL,
        "ETag": etag,
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=data, content_type="image/png", headers=headers)
