"""The app page's webhook buttons, each a CSRF-checked form that works without JavaScript: **Send test
event**, **Redeliver** (a failed delivery, with the same ``webhook-id``) and **Enable** (an endpoint
disabled after 5 days of failures). The registry checks that the signed-in user owns the app (the 404
page otherwise) before the webhooks service is asked; each answers 303 back to the page's deliveries."""

from __future__ import annotations

from aiohttp import web

from services.gateway.developer.common import APPS_PATH, app_path, checked_form
from services.gateway.developer.pages import owned
from services.gateway.keys import BUS
from services.gateway.web_helpers import request_id, see_other
from shared.errors import NotFound
from shared.webhooks.client import WebhooksClient

routes = web.RouteTableDef()


async def _owned(request: web.Request) -> tuple[str, WebhooksClient]:
    session, _ = await checked_form(request)
    app = (await owned(request, session)).app
    return app.client_id, WebhooksClient(request.app[BUS])


def _back(client_id: str, notice: str) -> web.Response:
    return see_other(app_path(client_id) + f"?notice={notice}#webhooks")


@routes.post(APPS_PATH + "/{client_id}/webhook/test")
async def send_test(request: web.Request) -> web.Response:
    client_id, webhooks = await _owned(request)
    await webhooks.send_test(client_id, request_id=request_id(request))
    return _back(client_id, "test_sent")


@routes.post(APPS_PATH + "/{client_id}/webhook-deliveries/{delivery_id}/redeliver")
async def redeliver(request: web.Request) -> web.Response:
    client_id, webhooks = await _owned(request)
    try:
        delivery_id = request.match_info["delivery_id"]
        await webhooks.redeliver(client_id, delivery_id, request_id=request_id(request))
    except NotFound:
        raise web.HTTPNotFound() from None
    return _back(client_id, "redelivered")


@routes.post(APPS_PATH + "/{client_id}/webhook/enable")
async def enable(request: web.Request) -> web.Response:
    client_id, webhooks = await _owned(request)
    await webhooks.enable(client_id, request_id=request_id(request))
    return _back(client_id, "enabled")
