"""``GET`` and ``POST /oauth/logout``: OpenID Connect RP-Initiated Logout 1.0 (the ``end_session_endpoint``).

The app sends the browser here with ``id_token_hint`` (an ID token Mavio issued it, accepted even when
expired, §4; one that does not verify against the published keys, e.g. signed by a key that has left the
JWKS, is treated as absent), ``client_id`` (which must be the hint's ``aud``),
``post_logout_redirect_uri`` and ``state``. The redirect URI must be exactly one of the app's registered
post-logout redirect URIs (§3); an unregistered one is never redirected to: an error page says so.
Without a hint the app is only known from ``client_id``. The page "Sign out of Mavio?" asks the
signed-in user (**Sign out**, with the session's CSRF token, or **Cancel**); signing out ends the
session, then the browser goes to the registered URI with ``state`` (or to the sign-in page when none
was given). A user already signed out goes there at once: nothing changes, and only an exact registered
URI of a known app is a destination.
A confirmation posts back here with the user's ``decision``; every other request is the app's.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

import msgspec
from aiohttp import web

from services.gateway import form_action
from services.gateway.id_token_hint import verified_hint
from services.gateway.sessions import check_csrf, destroy_session, get_session
from services.gateway.web_helpers import page, registry, request_id, see_other
from shared.errors import InvalidRequest, NotFound, OAuthError
from shared.messages.registry import AppView

routes = web.RouteTableDef()

PATH = "/oauth/logout"
SIGNED_OUT = "/login"
PARAMETERS = ("id_token_hint", "client_id", "post_logout_redirect_uri", "state")
MAX_VALUE = 8192


class LogoutRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A checked logout request: the app it came from ("" when unknown) and where to go afterwards."""

    client_id: str = ""
    app_name: str = ""
    redirect_uri: str = ""  # an exact registered post-logout redirect URI of ``client_id``, or ""
    state: str = ""


@routes.route("GET", PATH)
@routes.route("POST", PATH)
async def logout(request: web.Request) -> web.StreamResponse:
    try:
        values = await _values(request)
        checked = await _check(request, values)
    except OAuthError as exc:
        return page(request, "error.html", {"error": exc}, status=400)
    session = await get_session(request)
    if session is None:
        return see_other(_destination(checked))
    decision = values.get("decision")
    if request.method == "POST" and decision in ("sign_out", "cancel"):
        check_csrf(session, values.get("csrf_token"))
        if decision == "cancel":
            return see_other("/")
        resp = see_other(_destination(checked))
        await destroy_session(request, resp)
        return resp
    return _confirmation(request, checked)


async def _values(request: web.Request) -> dict[str, str]:
    """The parameters, from the query (GET) or the form (POST); a repeated one counts as absent."""
    source: Any = await request.post() if request.method == "POST" else request.query
    values: dict[str, str] = {}
    for name in (*PARAMETERS, "decision", "csrf_token"):
        found = [v for v in source.getall(name, []) if isinstance(v, str) and v]
        if len(found) > 1:
            raise InvalidRequest(f"{name} must not be repeated")
        if found and len(found[0]) <= MAX_VALUE:
            values[name] = found[0]
    return values


async def _check(request: web.Request, values: dict[str, str]) -> LogoutRequest:
    # A hint that does not verify (forged, malformed, or signed by a key that has left the JWKS) is
    # treated as absent: it names no app, so a redirect URI then needs client_id, and the signed-in
    # user confirms as always. Nothing a hint proves is ever needed to end a session.
    hint = await verified_hint(request, values["id_token_hint"]) if "id_token_hint" in values else None
    client_id = values.get("client_id", "")
    if hint is not None:
        if client_id and client_id not in hint.aud:
            raise InvalidRequest("client_id is not the audience of id_token_hint")
        client_id = client_id or (hint.aud[0] if len(hint.aud) == 1 else "")
    uri = values.get("post_logout_redirect_uri", "")
    if uri and not client_id:
        raise InvalidRequest("post_logout_redirect_uri needs client_id or an id_token_hint that verifies")
    app = await _app(request, client_id) if client_id else None
    if uri and (app is None or uri not in app.post_logout_redirect_uris):
        raise InvalidRequest("post_logout_redirect_uri is not one of the app's post-logout redirect URIs")
    return LogoutRequest(
        client_id=client_id,
        app_name=app.name if app else "",
        redirect_uri=uri,
        state=values.get("state", ""),
    )


async def _app(request: web.Request, client_id: str) -> AppView:
    try:
        return await registry(request).get_app(client_id, request_id=request_id(request))
    except NotFound:
        raise InvalidRequest("client_id names no app") from None


def _destination(checked: LogoutRequest) -> str:
    """The registered URI with ``state`` (RP-Initiated Logout §3), or the sign-in page."""
    if not checked.redirect_uri:
        return SIGNED_OUT
    if not checked.state:
        return checked.redirect_uri
    separator = "&" if "?" in checked.redirect_uri else "?"
    return checked.redirect_uri + separator + urlencode([("state", checked.state)], quote_via=quote)


def _confirmation(request: web.Request, checked: LogoutRequest) -> web.Response:
    fields = [
        ("client_id", checked.client_id),
        ("post_logout_redirect_uri", checked.redirect_uri),
        ("state", checked.state),
    ]
    context = {"fields": [(k, v) for k, v in fields if v], "app_name": checked.app_name}
    context["destination"] = form_action.redirect_source(checked.redirect_uri)
    resp = page(request, "logout.html", context)
    form_action.allow_redirect(resp, checked.redirect_uri)  # Sign out's 303 goes there
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp
