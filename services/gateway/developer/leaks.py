"""The app page's **Report a leaked credential**: the owner pastes a token or client secret of the app,
confirms, and it is handled exactly like a secret-scanning report (``services.gateway.leaks``), with the
owner as the actor. Only a live credential of this app is acted on; anything else (another app's, another
user's token pasted into this app's form, an expired one, a made-up one) gets one answer that says
nothing about whether it exists."""

from __future__ import annotations

from aiohttp import web

from services.gateway.developer.actions import confirm_page
from services.gateway.developer.common import APPS_PATH, app_path, checked_form
from services.gateway.developer.forms import text
from services.gateway.developer.pages import owned
from services.gateway.keys import BUS
from services.gateway.leaks import ReportItem, act_on
from services.gateway.sessions import require_session
from services.gateway.web_helpers import request_id, see_other
from shared.tokens import check_client_secret_format, parse

routes = web.RouteTableDef()

TEMPLATE = "report_leak.html"
CONFIRM = "confirm_report_leak.html"
NOT_A_CREDENTIAL = (
    "Paste an access token (mavio_at_…), a refresh token (mavio_rt_…) or a client secret (mavio_cs_…)"
)
NOT_LIVE = "This is not a live credential of this app, so nothing was revoked."
KINDS = {"at": "access token", "rt": "refresh token"}


def kind_of(value: str) -> str:
    """What the pasted value looks like ("" when it is no Mavio credential; checksum included)."""
    parsed = parse(value)
    if parsed is not None and parsed.kind in KINDS:
        return KINDS[parsed.kind]
    return "client secret" if check_client_secret_format(value) else ""


def masked(value: str) -> str:
    """Enough to recognise it on the confirmation page, never the secret part."""
    return value[: value.index("_", 6) + 5] + "…"


@routes.get(APPS_PATH + "/{client_id}/leaked")
async def report_form(request: web.Request) -> web.Response:
    session = await require_session(request)
    return confirm_page(request, TEMPLATE, await owned(request, session), credential_error="")


@routes.post(APPS_PATH + "/{client_id}/leaked/confirm")
async def confirm(request: web.Request) -> web.Response:
    """The confirmation step: what was pasted (masked) and what revoking it does."""
    session, form = await checked_form(request)
    reply = await owned(request, session)
    credential = text(form.get("credential")).strip()
    kind = kind_of(credential)
    if not kind:
        return confirm_page(request, TEMPLATE, reply, credential_error=NOT_A_CREDENTIAL, status=400)
    return confirm_page(request, CONFIRM, reply, credential=credential, kind=kind, masked=masked(credential))


@routes.post(APPS_PATH + "/{client_id}/leaked")
async def report(request: web.Request) -> web.Response:
    session, form = await checked_form(request)
    reply = await owned(request, session)
    credential = text(form.get("credential")).strip()
    if not kind_of(credential):
        return confirm_page(request, TEMPLATE, reply, credential_error=NOT_A_CREDENTIAL, status=400)
    item = ReportItem(token=credential, type="owner_report", source="owner")
    verdicts = await act_on(
        request.app[BUS],
        [item],
        actor=session.user_id,
        client_id=reply.app.client_id,
        request_id=request_id(request),
    )
    if not verdicts[0].revoked:
        return confirm_page(request, TEMPLATE, reply, credential_error=NOT_LIVE, status=400)
    return see_other(app_path(reply.app.client_id) + "?notice=leak_revoked")
