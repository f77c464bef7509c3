"""The device authorization grant at the gateway (RFC 8628): the device's endpoint and the user's pages.

``POST /oauth/device_authorization`` (§3.1): the form and the client's credentials as at the token
endpoint, asked of the token service. ``/device`` (§3.3): a signed-in user types the user code (a
``user_code`` query, from ``verification_uri_complete``, only prefills it: Continue is still needed),
the authorize service shows the device consent page (always: remembered consent never skips it, §5.4)
and takes its one decision. Codes typed are rate-limited per session and address before each look-up
(``ratelimit.device_code_attempt``). Every form here posts to this site and no answer redirects
off-site (the default CSP's ``form-action 'self'``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from aiohttp import web

from services.gateway import consent, ratelimit
from services.gateway.keys import BUS, CATALOG, REQUEST_ID
from services.gateway.rendering import json_response
from services.gateway.routes.token import NO_STORE, ask_token_service, client_credentials, read_form, single
from services.gateway.sessions import check_csrf, require_session, sign_in_of
from services.gateway.web_helpers import page
from shared import subjects
from shared.errors import InvalidRequest
from shared.messages.authorize import Decision
from shared.messages.device import (
    DecideDeviceReply,
    DecideDeviceRequest,
    DeviceConsent,
    ShowDeviceReply,
    ShowDeviceRequest,
    StartDeviceReply,
    StartDeviceRequest,
)

routes = web.RouteTableDef()

MAX_CODE_FIELD: Final = 32
TOO_MANY: Final = "Too many codes tried. Wait a few minutes, then try again."


@routes.post("/oauth/device_authorization")
async def device_authorization(request: web.Request) -> web.Response:
    """RFC 8628 §3.1-3.2; errors are RFC 6749 §5.2 JSON (the middleware)."""
    form = await read_form(request)
    creds = await client_credentials(request, form)
    req = StartDeviceRequest(
        client_id=creds.client_id,
        client_secret=creds.client_secret,
        scope=single(form, "scope"),
        address=request.remote or "",
    )
    reply = await ask_token_service(request, subjects.TOKEN_DEVICE_AUTHORIZE, req, StartDeviceReply, creds)
    return json_response(reply, headers=NO_STORE)


@routes.get("/device")
async def device_page(request: web.Request) -> web.Response:
    """The code form; ``user_code`` prefills it (sign-in first, coming back here)."""
    await require_session(request)
    return code_page(request, user_code=request.query.get("user_code", "")[:MAX_CODE_FIELD])


@routes.post("/device")
async def device_code(request: web.Request) -> web.Response:
    """A code typed: counted, then looked up; the device consent page or the form again."""
    session = await require_session(request)
    form = await request.post()
    check_csrf(session, _text(form.get("csrf_token")))
    typed = _text(form.get("user_code"))[:MAX_CODE_FIELD]
    binding = consent.session_binding(session)
    attempt = await ratelimit.device_code_attempt(request, binding)
    if attempt.retry_after:
        resp = code_page(request, user_code=typed, error=TOO_MANY, status=429)
        resp.headers["Retry-After"] = str(attempt.retry_after)
        return resp
    payload = ShowDeviceRequest(user_code=typed, user_id=session.user_id, session=binding)
    reply = await _ask(request, subjects.AUTHORIZE_DEVICE_SHOW, payload, ShowDeviceReply)
    if not isinstance(reply.outcome, DeviceConsent):
        return code_page(request, user_code=typed, error=reply.outcome.reason, status=400)
    await ratelimit.device_code_found(request, attempt)
    return consent_page(request, reply.outcome)


@routes.post("/device/decide")
async def device_decide(request: web.Request) -> web.Response:
    """The decision on one device consent page (its token, this session only), once."""
    session = await require_session(request)
    form = await request.post()
    token = _text(form.get(consent.TOKEN_FIELD))
    signed_in = sign_in_of(session)
    payload = DecideDeviceRequest(
        user_id=session.user_id,
        session=consent.session_binding(session),
        consent=token if len(token) <= 128 else "",
        decision=_decision(_text(form.get("decision"))),
        auth_time=signed_in.auth_time,
        sid=signed_in.sid,
    )
    reply = await _ask(request, subjects.AUTHORIZE_DEVICE_DECIDE, payload, DecideDeviceReply)
    status = 200 if reply.decided else 400
    return page(request, "device_done.html", {"reply": reply}, status=status)


def code_page(request: web.Request, *, user_code: str, error: str = "", status: int = 200) -> web.Response:
    return page(request, "device.html", {"user_code": user_code, "error": error}, status=status)


def consent_page(request: web.Request, shown: DeviceConsent) -> web.Response:
    catalog = request.app[CATALOG]
    context = {
        "app": shown.app,
        "logo_url": consent.logo_url(shown.app),
        "scopes": [(n, catalog.get(n).description if n in catalog else n) for n in shown.scopes],
        "user_code": shown.user_code,
        "requested_at": datetime.fromtimestamp(shown.requested_at, UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "address": shown.address or "an unknown address",
        "token_field": consent.TOKEN_FIELD,
        "decision_token": shown.consent,
    }
    resp = page(request, "device_consent.html", context)
    resp.headers.update(consent.SECURITY_HEADERS)
    return resp


async def _ask(request: web.Request, subject: str, payload: object, reply_type: type[Any]) -> Any:
    return await request.app[BUS].request(subject, payload, reply_type, request_id=request[REQUEST_ID])


def _decision(value: str) -> Decision:
    if value == "authorize":
        return "authorize"
    if value == "deny":
        return "deny"
    raise InvalidRequest("decision must be authorize or deny")


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
