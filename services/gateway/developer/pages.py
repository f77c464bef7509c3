"""Settings > Developer > OAuth Apps: the list, registration, an app's page, and editing."""

from __future__ import annotations

from aiohttp import web

from services.gateway.developer.charts import bar_chart
from services.gateway.developer.common import APPS_PATH, app_path, checked_form, conflict_fields
from services.gateway.developer.credentials import show_once
from services.gateway.developer.forms import AppForm, checked_logo, form_context, parse_form
from services.gateway.sessions import Session, require_session
from services.gateway.web_helpers import page, registry, request_id, see_other
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.messages.registry import AppView, CreateAppRequest, GetOwnedAppReply, UpdateAppRequest

routes = web.RouteTableDef()

NOTICES = {
    "saved": "Your changes were saved.",
    "revoked": "Every token of this app was revoked.",
    "deleted": "The app was deleted.",
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
    return page(request, "app_form.html", {**form_context(request, AppForm()), "app": None})


@routes.post(APPS_PATH)
async def create_app(request: web.Request) -> web.Response:
    session, data = await checked_form(request)
    form = parse_form(data)
    try:
        logo = await checked_logo(request, form)
        fields = form.input()
        reply = await registry(request).create_app(
            CreateAppRequest(
                user_id=session.user_id,
                name=fields.name,
                description=fields.description,
                homepage_url=fields.homepage_url,
                redirect_uris=fields.redirect_uris,
                scopes=fields.scopes,
                logo=logo,
                require_pkce=fields.require_pkce,
            ),
            request_id=request_id(request),
        )
    except (ValidationFailed, Conflict) as exc:
        return _refused(request, form, exc, app=None)
    return await show_once(request, session, reply.app.client_id, reply.client_secret, created=True)


def _refused(
    request: web.Request, form: AppForm, exc: ValidationFailed | Conflict, *, app: AppView | None
) -> web.Response:
    """The same form again with the entered values and an inline message per field; nothing saved."""
    err = conflict_fields(exc) if isinstance(exc, Conflict) else exc
    ctx = {**form_context(request, form, err.fields), "app": app}
    return page(request, "app_form.html", ctx, status=err.status)


@routes.get(APPS_PATH + "/{client_id}")
async def app_page(request: web.Request) -> web.Response:
    session = await require_session(request)
    reply = await owned(request, session)
    ctx = {
        "app": reply.app,
        "stats": reply.stats,
        "chart": bar_chart(reply.stats.api_calls_by_day),
        "notice": NOTICES.get(request.query.get("notice", ""), ""),
    }
    return page(request, "app_detail.html", ctx)


@routes.get(APPS_PATH + "/{client_id}/edit")
async def edit_form(request: web.Request) -> web.Response:
    session = await require_session(request)
    app = (await owned(request, session)).app
    form = AppForm(
        name=app.name,
        description=app.description,
        homepage_url=app.homepage_url,
        redirect_uris_text="\n".join(app.redirect_uris),
        scopes=list(app.scopes),
        require_pkce=app.require_pkce,
    )
    return page(request, "app_form.html", {**form_context(request, form), "app": app})


@routes.post(APPS_PATH + "/{client_id}/edit")
async def save_edit(request: web.Request) -> web.Response:
    session, data = await checked_form(request)
    app = (await owned(request, session)).app
    form = parse_form(data)
    try:
        logo = await checked_logo(request, form)
        fields = form.input()
        await registry(request).update_app(
            UpdateAppRequest(
                user_id=session.user_id,
                client_id=app.client_id,
                name=fields.name,
                description=fields.description,
                homepage_url=fields.homepage_url,
                redirect_uris=fields.redirect_uris,
                scopes=fields.scopes,
                logo=logo,
                remove_logo=form.remove_logo,
                require_pkce=fields.require_pkce,
            ),
            request_id=request_id(request),
        )
    except (ValidationFailed, Conflict) as exc:
        return _refused(request, form, exc, app=app)
    return see_other(app_path(app.client_id) + "?notice=saved")
