"""Gateway routes: an app's webhook deliveries in the JSON API (``/api/v1/oauth-apps/{client_id}/...``):
the delivery log, **Redeliver**, **Send test event**, **Enable**. The registry checks that the signed-in
user owns the app (404 otherwise), then the webhooks service answers."""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

from services.gateway.developer.api_io import require_api_session, require_json
from services.gateway.keys import BUS
from services.gateway.rendering import json_response
from services.gateway.web_helpers import registry, request_id
from shared.webhooks.client import WebhooksClient

routes = web.RouteTableDef()

BASE = "/api/v1/oauth-apps/{client_id}"
NO_STORE = {"Cache-Control": "no-store"}


async def _owned(request: web.Request, *, changes: bool) -> tuple[str, WebhooksClient]:
    session = await require_api_session(request)
    if changes:
        require_json(request)
    client_id = request.match_info["client_id"]
    await registry(request).owned_app(session.user_id, client_id, request_id=request_id(request))
    return client_id, WebhooksClient(request.app[BUS])


def _json(value: Any, status: int = 200) -> web.Response:
    return json_response(msgspec.to_builtins(value), status=status, headers=NO_STORE)


@routes.get(BASE + "/webhook-deliveries")
async def list_deliveries(request: web.Request) -> web.Response:
    client_id, webhooks = await _owned(request, changes=False)
    return _json(await webhooks.deliveries(client_id, request_id=request_id(request)))


@routes.post(BASE + "/webhook-deliveries/{delivery_id}/redeliver")
async def redeliver(request: web.Request) -> web.Response:
    client_id, webhooks = await _owned(request, changes=True)
    delivery_id = request.match_info["delivery_id"]
    reply = await webhooks.redeliver(client_id, delivery_id, request_id=request_id(request))
    return _json(reply.delivery, status=202)


@routes.post(BASE + "/webhook/test")
async def send_test(request: web.Request) -> web.Response:
    client_id, webhooks = await _owned(request, changes=True)
    reply = await webhooks.send_test(client_id, request_id=request_id(request))
    return _json(reply.delivery, status=202)


@routes.post(BASE + "/webhook/enable")
async def enable(request: web.Request) -> web.Response:
    client_id, webhooks = await _owned(request, changes=True)
    reply = await webhooks.enable(client_id, request_id=request_id(request))
    return _json(reply.endpoint)
