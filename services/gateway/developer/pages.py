"""Settings > Developer > OAuth Apps: the list, registration, an app's page, and editing."""

from __future__ import annotations

import msgspec
from aiohttp import web

from services.gateway.developer.charts import bar_chart
from services.gateway.developer.common import APPS_PATH, app_path, checked_form
from services.gateway.developer.credentials import show_once
from services.gateway.developer.forms import AppForm, checked_logo, form_context, parse_form
from services.gateway.developer.webhook_log import delivery_log
from services.gateway.sessions import Session, require_session
from services.gateway.web_helpers import page, registry, request_id, see_other
from shared.apps.settings import PUBLIC, AppSettings, given, settings_of
from shared.errors import NotFound, ValidationFailed
from shared.messages.registry import AppView, CreateAppRequest, GetOwnedAppReply, UpdateAppRequest

routes = web.RouteTableDef()

NOTICES = {
    "saved": "Your changes were saved.",
    "revoked": "Every token of this app was revoked.",
    "deleted": "The app was deleted.",
    "test_sent": "A test event was queued: it appears in Webhook deliveries below.",
    "redelivered": "The delivery was queued again, with the same webhook-id.",
    "enabled": "Webhooks are enabled again: new events are delivered to your URL.",
    "leak_revoked": "The leaked credential was revoked.",
}


async def owned(request: web.Request, session: Session) -> GetOwnedAppReply:
    """The app in the URL with its stats, or the 404 page when it is not this user's."""
    try:
        return await registry(request).owned_app(
            session.user_id, request.match_info["client_id"], request_id=request_id(request)
        )
    except NotFound:
        raise web.HTTPNotFound() from None


@routes.get(APPS_PATH)
async def list_apps(request: web.Request) -> web.Response:
    session = await require_session(request)
    apps = await registry(request).list_apps(session.user_id, request_id=request_id(request))
    notice = NOTICES.get(request.query.get("notice", ""), "")
    return page(request, "apps_list.html", {"apps": apps, "notice": notice})


@routes.get(APPS_PATH + "/new")
async def new_app(request: web.Request) -> web.Response:
    await require_session(request)
    return page(request, "app_form.html", {**form_context(request, AppForm.of(AppSettings())), "app": None})


@routes.post(APPS_PATH)
async def create_app(request: web.Request) -> web.Response:
    session, data = await checked_form(request)
    form = parse_form(data)
    logo, logo_problem = await checked_logo(request, form)
    req = CreateAppRequest(
        **msgspec.structs.asdict(form.settings()),
        client_type=form.client_type,
        user_id=session.user_id,
        logo=logo,
        logo_problem=logo_problem,
    )
    try:
        reply = await registry(request).create_app(req, request_id=request_id(request))
    except ValidationFailed as exc:
        return _refused(request, form, exc, app=None)
    if reply.app.client_type == PUBLIC and not reply.webhook_secret:  # no secret to show: the view says so
        return see_other(app_path(reply.app.client_id, "credentials"))
    return await show_once(
        request,
        session,
        reply.app.client_id,
        reply.client_secret,
        created=True,
        webhook_secret=reply.webhook_secret,
    )


def _refused(
    request: web.Request, form: AppForm, exc: ValidationFailed, *, app: AppView | None
) -> web.Response:
    """The same form again with the entered values and the registry's message per field; nothing saved
    (400, or 409 for a name the owner already uses)."""
    ctx = {**form_context(request, form, exc.fields), "app": app}
    return page(request, "app_form.html", ctx, status=exc.status)


@routes.get(APPS_PATH + "/{client_id}")
async def app_page(request: web.Request) -> web.Response:
    session = await require_session(request)
    reply = await owned(request, session)
    ctx = {
        "app": reply.app,
        "stats": reply.stats,
        "chart": bar_chart(reply.stats.api_calls_by_day),
        "webhooks": await delivery_log(request, reply.app),
        "notice": NOTICES.get(request.query.get("notice", ""), ""),
    }
    return page(request, "app_detail.html", ctx)


@routes.get(APPS_PATH + "/{client_id}/edit")
async def edit_form(request: web.Request) -> web.Response:
    session = await require_session(request)
    app = (await owned(request, session)).app
    form = AppForm.of(settings_of(app))
    return page(request, "app_form.html", {**form_context(request, form), "app": app})


@routes.post(APPS_PATH + "/{client_id}/edit")
async def save_edit(request: web.Request) -> web.Response:
    session, data = await checked_form(request)
    app = (await owned(request, session)).app
    form = parse_form(data)
    logo, logo_problem = await checked_logo(request, form)
    req = UpdateAppRequest(
        user_id=session.user_id,
        client_id=app.client_id,
        **given(form.settings()),
        logo=logo,
        remove_logo=form.remove_logo,
        logo_problem=logo_problem,
    )
    try:
        updated = await registry(request).update_app(req, request_id=request_id(request))
    except ValidationFailed as exc:
        return _refused(request, form, exc, app=app)
    if updated.webhook_secret:  # a first webhook URL: its signing secret, shown once
        return await show_once(
            request, session, app.client_id, "", created=False, webhook_secret=updated.webhook_secret
        )
    return see_other(app_path(app.client_id) + "?notice=saved")
