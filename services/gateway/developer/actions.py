"""The app actions, each behind a confirmation page that works without JavaScript: its submit button
carries the action's own label (Regenerate client secret, Regenerate signing secret, Revoke all tokens,
Delete app)."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from services.gateway.developer.common import APPS_PATH, app_path, checked_form, revoke_app_tokens
from services.gateway.developer.credentials import finish_view, reveal, show_once
from services.gateway.developer.forms import text
from services.gateway.developer.pages import owned
from services.gateway.sessions import require_session
from services.gateway.web_helpers import page, registry, request_id, see_other
from shared.apps.settings import PUBLIC
from shared.errors import NotFound, TemporarilyUnavailable, ValidationFailed
from shared.messages.registry import GetOwnedAppReply

routes = web.RouteTableDef()

KEEP_OLD_CHOICES = {"0": 0, "3600": 3600, "86400": 86_400}


def confirm_page(
    request: web.Request,
    template: str,
    reply: GetOwnedAppReply,
    *,
    status: int | None = None,
    **extra: object,
) -> web.Response:
    ctx = {"app": reply.app, "stats": reply.stats, "error": "", **extra}
    return page(request, template, ctx, status=status or (400 if ctx["error"] else 200))


@routes.get(APPS_PATH + "/{client_id}/secret")
async def confirm_regenerate(request: web.Request) -> web.Response:
    session = await require_session(request)
    reply = await owned(request, session)
    if reply.app.client_type == PUBLIC:  # no secret to regenerate: the credentials view says why
        return see_other(app_path(reply.app.client_id, "credentials"))
    return confirm_page(request, "confirm_regenerate.html", reply)


@routes.post(APPS_PATH + "/{client_id}/secret")
async def regenerate(request: web.Request) -> web.Response:
    session, form = await checked_form(request)
    reply = await owned(request, session)
    if reply.app.client_type == PUBLIC:
        return see_other(app_path(reply.app.client_id, "credentials"))
    keep = KEEP_OLD_CHOICES.get(text(form.get("keep_old")), -1)
    if keep < 0:
        error = "Choose how long the old secret keeps working"
        return confirm_page(request, "confirm_regenerate.html", reply, error=error)
    regenerated = await registry(request).regenerate_secret(
        session.user_id, reply.app.client_id, keep_old_seconds=keep, request_id=request_id(request)
    )
    return await show_once(
        request,
        session,
        regenerated.app.client_id,
        regenerated.client_secret,
        created=False,
        old_secret_valid_until=regenerated.old_secret_valid_until,
    )


@routes.get(APPS_PATH + "/{client_id}/credentials")
async def credentials(request: web.Request) -> web.Response:
    """The one-time view of a new secret; afterwards (a reload) it says the secret was shown (410). A
    public app has no secret: its view says so, every time."""
    session = await require_session(request)
    app = (await owned(request, session)).app
    public = app.client_type == PUBLIC
    shown = await reveal(request, session, app.client_id)
    if public and (shown is None or not shown.webhook_secret):  # no secret of its own to show
        return page(request, "app_credentials.html", {"app": app, "public": True, "webhook_secret": ""})
    ctx: dict[str, object] = {
        "app": app,
        "public": public,
        "client_secret": "",
        "webhook_secret": "",
        "created": False,
        "old_secret_valid_until": 0,
    }
    if shown is not None:
        ctx |= {
            "client_secret": shown.client_secret,
            "webhook_secret": shown.webhook_secret,
            "created": shown.created,
            "old_secret_valid_until": shown.old_secret_valid_until,
            "old_secret_until_text": _utc(shown.old_secret_valid_until),
        }
    resp = page(request, "app_credentials.html", ctx, status=200 if shown else 410)
    finish_view(request, resp, app.client_id, shown=shown is not None)
    return resp


def _utc(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if epoch else ""


@routes.get(APPS_PATH + "/{client_id}/webhook-secret")
async def confirm_webhook_secret(request: web.Request) -> web.Response:
    session = await require_session(request)
    return confirm_page(request, "confirm_webhook_secret.html", await owned(request, session))


@routes.post(APPS_PATH + "/{client_id}/webhook-secret")
async def regenerate_webhook_secret(request: web.Request) -> web.Response:
    """A new webhook signing secret, shown once like the client secret; the old one stops at once."""
    session, _ = await checked_form(request)
    reply = await owned(request, session)
    try:
        minted = await registry(request).regenerate_webhook_secret(
            session.user_id, reply.app.client_id, request_id=request_id(request)
        )
    except ValidationFailed as exc:
        error = "; ".join(exc.fields.values())
        return confirm_page(request, "confirm_webhook_secret.html", reply, error=error)
    return await show_once(
        request, session, minted.client_id, "", created=False, webhook_secret=minted.webhook_secret
    )


@routes.get(APPS_PATH + "/{client_id}/revoke")
async def confirm_revoke(request: web.Request) -> web.Response:
    session = await require_session(request)
    return confirm_page(request, "confirm_revoke.html", await owned(request, session))


@routes.post(APPS_PATH + "/{client_id}/revoke")
async def revoke(request: web.Request) -> web.Response:
    """One registry command (it checks ownership: 404 otherwise); the app is read only for a page that
    says the revocation is pending or failed."""
    session, _ = await checked_form(request)
    try:
        revoked = await revoke_app_tokens(request, request.match_info["client_id"], actor=session.user_id)
    except NotFound:
        raise web.HTTPNotFound() from None
    except TemporarilyUnavailable as exc:
        ctx = {"unavailable": exc.description, "deleted": False}
        return confirm_page(request, "action_failed.html", await owned(request, session), **ctx, status=503)
    if revoked.pending:  # queued: carried out when the revocation service is back
        reply = await owned(request, session)
        return confirm_page(request, "revocation_pending.html", reply, deleted=False, status=202)
    return see_other(app_path(revoked.client_id) + "?notice=revoked")


@routes.get(APPS_PATH + "/{client_id}/delete")
async def confirm_delete(request: web.Request) -> web.Response:
    session = await require_session(request)
    return confirm_page(request, "confirm_delete.html", await owned(request, session), typed="")


@routes.post(APPS_PATH + "/{client_id}/delete")
async def delete(request: web.Request) -> web.Response:
    session, form = await checked_form(request)
    reply = await owned(request, session)
    typed = text(form.get("confirm_name")).strip()
    if typed != reply.app.name:
        error = "Type the app's name exactly as shown to confirm"
        return confirm_page(request, "confirm_delete.html", reply, typed=typed, error=error)
    deleted = await registry(request).delete_app(
        session.user_id, reply.app.client_id, request_id=request_id(request)
    )
    if deleted.pending:  # queued: carried out when the revocation service is back
        return confirm_page(request, "revocation_pending.html", reply, deleted=True, status=202)
    return see_other(APPS_PATH + "?notice=deleted")
