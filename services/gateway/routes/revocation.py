"""Gateway routes: token revocation (RFC 7009) and Settings > Connected apps. HTTP only: parse, ask the
revocation service over the bus, answer. Errors render in the middleware."""

from __future__ import annotations

import datetime as dt
from typing import Final

from aiohttp import web

from services.gateway.keys import BUS, CATALOG
from services.gateway.routes.token import NO_STORE, ask_token_service, token_about_request
from services.gateway.sessions import check_csrf, require_session
from services.gateway.web_helpers import page, request_id, see_other
from shared import subjects
from shared.messages.revocation import (
    ConnectedApp,
    ConnectedAppsReply,
    ConnectedAppsRequest,
    RevokeGrantReply,
    RevokeGrantRequest,
    RevokeTokenReply,
    RevokeTokenRequest,
)

routes = web.RouteTableDef()

CONNECTED_PATH: Final = "/settings/connected-apps"
NOTICES: Final = {"revoked": "Access revoked. The app can no longer use your Mavio account."}


@routes.post("/oauth/revoke")
async def revoke(request: web.Request) -> web.Response:
    """Token revocation (RFC 7009 §2.1): 200 with an empty body whether or not the token was valid."""
    req, creds = await token_about_request(request, RevokeTokenRequest)
    await ask_token_service(request, subjects.REVOCATION_REVOKE, req, RevokeTokenReply, creds)
    return web.Response(status=200, headers=NO_STORE)


def _utc(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if epoch else ""


def _row(app: ConnectedApp, descriptions: dict[str, str]) -> dict[str, object]:
    return {
        "app": app,
        "client_id": app.client_id,
        "logo_url": (
            f"/oauth/apps/{app.client_id}/logo.png?v={app.logo_version}"
            if app.has_logo
            else "/static/app-placeholder.svg"
        ),
        "scopes": [(name, descriptions.get(name, name)) for name in app.scopes],
        "authorized": _utc(app.authorized_at),
        "last_used": _utc(app.last_used_at) or "Never",
    }


async def _rows(request: web.Request, user_id: str) -> list[dict[str, object]]:
    reply = await request.app[BUS].request(
        subjects.REVOCATION_CONNECTED_APPS,
        ConnectedAppsRequest(user_id=user_id),
        ConnectedAppsReply,
        request_id=request_id(request),
    )
    descriptions = {s.name: s.description for s in request.app[CATALOG]}
    return [_row(app, descriptions) for app in reply.apps]


@routes.get(CONNECTED_PATH)
async def connected_apps(request: web.Request) -> web.Response:
    """The apps the signed-in user has authorized: what each may do, since when, and Revoke."""
    session = await require_session(request)
    ctx = {
        "apps": await _rows(request, session.user_id),
        "notice": NOTICES.get(request.query.get("notice", ""), ""),
    }
    return page(request, "connected_apps.html", ctx)


@routes.get(CONNECTED_PATH + "/{client_id}/revoke")
async def confirm_revoke_connected_app(request: web.Request) -> web.Response:
    """Revoke's confirmation step (works without JavaScript); 404 for an app that is not connected."""
    session = await require_session(request)
    client_id = request.match_info["client_id"]
    rows = [r for r in await _rows(request, session.user_id) if r["client_id"] == client_id]
    if not rows:
        raise web.HTTPNotFound()
    return page(request, "confirm_revoke_connected.html", {"row": rows[0]})


@routes.post(CONNECTED_PATH + "/{client_id}/revoke")
async def revoke_connected_app(request: web.Request) -> web.Response:
    """Revoke the user's grant to one app: every code and token of that user x app ends at once."""
    session = await require_session(request)
    form = await request.post()
    submitted = form.get("csrf_token")
    check_csrf(session, submitted if isinstance(submitted, str) else None)
    await request.app[BUS].request(
        subjects.REVOCATION_REVOKE_GRANT,
        RevokeGrantRequest(user_id=session.user_id, client_id=request.match_info["client_id"]),
        RevokeGrantReply,
        request_id=request_id(request),
    )
    return see_other(CONNECTED_PATH + "?notice=revoked")
