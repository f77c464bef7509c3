"""``GET`` and ``POST /oauth/authorize``: the authorization endpoint and its consent page (RFC 6749 §4.1).

The authorize service decides (over the bus); this module only renders. A bus error from the service
is never redirected (RFC 6749 §4.1.2.1, RFC 9700 §4.11.2): an ``UnknownClient`` (the client_id), a
``BadRedirectUri`` (the redirect_uri) or an anonymous request's error gets the HTML error page with
status 400, which names the parameter by the error's type (it survives the bus as itself).
The decision's redirect is a 303 so the browser follows it with a GET (RFC 9700 §4.12).
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar
from urllib.parse import quote, urlencode

from aiohttp import web
from multidict import MultiDictProxy

from services.gateway import consent
from services.gateway.id_token_hint import verified_hint
from services.gateway.keys import BUS, CATALOG, REQUEST_ID
from services.gateway.reauthentication import continue_after_sign_in
from services.gateway.rendering import render
from services.gateway.sessions import Session, get_session, sign_in_of
from shared import subjects
from shared.errors import (
    BadRedirectUri,
    CsrfFailed,
    InvalidClient,
    InvalidRequest,
    OAuthError,
    ServerError,
    TemporarilyUnavailable,
)
from shared.messages.authorize import (
    CheckAuthorizationReply,
    CheckAuthorizationRequest,
    DecideAuthorizationReply,
    DecideAuthorizationRequest,
    Decision,
    DecisionRefused,
    Outcome,
    RedirectTo,
    ShowConsent,
    ShowSignIn,
    SignIn,
)

routes = web.RouteTableDef()

REDIRECT_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache", "Referrer-Policy": "no-referrer"}


class _Reply(Protocol):
    @property
    def outcome(self) -> Outcome: ...


R = TypeVar("R", bound=_Reply)


@routes.get("/oauth/authorize")
async def authorize(request: web.Request) -> web.StreamResponse:
    """RFC 6749 §4.1.1: the raw query as pairs (repeats kept; ``+`` is a space)."""
    query = list(request.rel_url.query.items())
    session = await get_session(request)
    payload = CheckAuthorizationRequest(
        query=query,
        user_id=session.user_id if session else "",
        session=consent.session_binding(session) if session else "",
        sign_in=sign_in_of(session) if session else SignIn(),
        hinted_user=await _hinted_user(request, query) if session else None,
    )
    outcome = await _ask(request, subjects.AUTHORIZE_CHECK, payload, CheckAuthorizationReply)
    if isinstance(outcome, web.StreamResponse):
        return outcome
    return _respond(request, outcome, session, back_to=request.path_qs, status=302)


@routes.post("/oauth/authorize")
async def decide(request: web.Request) -> web.StreamResponse:
    """The user's decision on one consent page: the service decides the request it stored for that page
    (once, for this session); the form's other fields are never read as the request."""
    form = await request.post()
    back_to = consent.return_to(form.get(consent.RETURN_FIELD))
    session = await get_session(request)
    if session is None:
        return _login(back_to)
    token = form.get(consent.TOKEN_FIELD)
    payload = DecideAuthorizationRequest(
        consent=token if isinstance(token, str) and len(token) <= 128 else "",
        session=consent.session_binding(session),
        user_id=session.user_id,
        decision=_decision(form),
        granted=[value for value in form.getall("granted", []) if isinstance(value, str)],
        sign_in=sign_in_of(session),
    )
    outcome = await _ask(request, subjects.AUTHORIZE_DECIDE, payload, DecideAuthorizationReply)
    if isinstance(outcome, web.StreamResponse):
        return outcome
    if isinstance(outcome, DecisionRefused):
        raise CsrfFailed(outcome.reason)
    return _respond(request, outcome, session, back_to=back_to, status=303)


async def _hinted_user(request: web.Request, query: list[tuple[str, str]]) -> str | None:
    """The user an ``id_token_hint`` names (OpenID Connect Core §3.1.2.1): None without a hint, ""
    for one that does not verify."""
    hints = [value for name, value in query if name == "id_token_hint" and value]
    if not hints:
        return None
    hint = await verified_hint(request, hints[0]) if len(hints) == 1 else None
    return hint.sub if hint else ""


def _decision(form: MultiDictProxy[Any]) -> Decision:
    value = form.get("decision")
    if value == "authorize":
        return "authorize"
    if value == "deny":
        return "deny"
    raise InvalidRequest("decision must be authorize or deny")


async def _ask(
    request: web.Request, subject: str, payload: object, reply_type: type[R]
) -> Outcome | web.Response:
    try:
        reply = await request.app[BUS].request(subject, payload, reply_type, request_id=request[REQUEST_ID])
    except (TemporarilyUnavailable, ServerError):
        raise  # the error middleware's 503 / 500
    except OAuthError as exc:  # the client_id, the redirect_uri, or an anonymous request: never redirected
        return error_page(request, exc)
    return reply.outcome


def _respond(
    request: web.Request, outcome: Outcome, session: Session | None, *, back_to: str, status: int
) -> web.StreamResponse:
    if isinstance(outcome, RedirectTo):
        return web.Response(status=status, headers={**REDIRECT_HEADERS, "Location": outcome.location})
    if isinstance(outcome, ShowConsent) and session is not None:
        return consent_page(request, outcome, back_to)
    if isinstance(outcome, ShowSignIn):
        return _login(continue_after_sign_in(back_to), outcome)
    return _login(back_to)  # a consent page without a session


def _login(back_to: str, shown: ShowSignIn | None = None) -> web.Response:
    """The sign-in page, then back to ``back_to``; ``reauth``: even when signed in (OpenID Connect
    ``prompt=login``, ``max_age``); ``login_hint``: the email it starts with."""
    extra = [("reauth", "1")] if shown and shown.reauthenticate else []
    extra += [("login_hint", shown.login_hint)] if shown and shown.login_hint else []
    location = "/login?next=" + quote(back_to, safe="") + ("&" + urlencode(extra) if extra else "")
    return web.Response(status=302, headers={**REDIRECT_HEADERS, "Location": location})


def consent_page(request: web.Request, shown: ShowConsent, back_to: str) -> web.Response:
    context = consent.page_context(shown, request.app[CATALOG], back_to)
    resp = render(request, "consent.html", context)
    resp.headers.update(consent.page_headers(shown.request.redirect_uri))
    return resp


def error_page(request: web.Request, exc: OAuthError) -> web.Response:
    """RFC 6749 §4.1.2.1, RFC 9700 §4.11.2: inform the resource owner; never redirect to a URI that is
    not verified (client_id, redirect_uri) or not trusted yet (any error before sign-in)."""
    if isinstance(exc, InvalidClient):
        parameter = "client_id"
    elif isinstance(exc, BadRedirectUri):  # it survives the bus as itself
        parameter = "redirect_uri"
    else:
        parameter = "request"
    resp = render(request, "authorize_error.html", {"error": exc, "parameter": parameter}, status=400)
    resp.headers.update(consent.page_headers(""))
    return resp
