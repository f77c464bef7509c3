"""Gateway routes: the landing page, sign-in (``/login``) and sign-out (``/logout``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp import web

from services.gateway import form_action, ratelimit
from services.gateway.client_address import throttle_subject
from services.gateway.keys import SIGN_IN_GATE
from services.gateway.sessions import check_csrf, create_session, destroy_session, get_session
from services.gateway.web_helpers import (
    check_login_csrf,
    login_cookie,
    login_csrf_token,
    page,
    registry,
    request_id,
    safe_next,
    see_other,
    set_login_cookie,
)
from shared.errors import InvalidGrant, OAuthError

routes = web.RouteTableDef()

SIGN_IN_FAILED = "Incorrect email or password."
DEFAULT_NEXT = "/"
MAX_HINT = 320  # an email address's longest


@routes.get("/")
async def home(request: web.Request) -> web.Response:
    await get_session(request)
    return page(request, "home.html")


async def _asking_app(request: web.Request, next_path: str) -> str:
    """The name of the app whose authorization request sent the user here ("" when none)."""
    parts = urlsplit(next_path)
    if parts.path != "/oauth/authorize":
        return ""
    client_ids = parse_qs(parts.query).get("client_id", [])
    if len(client_ids) != 1 or len(client_ids[0]) > 100:
        return ""
    try:
        app = await registry(request).get_app(client_ids[0], request_id=request_id(request))
    except OAuthError:  # unknown app, registry unavailable: sign-in works without the name
        return ""
    return app.name


async def _login_page(
    request: web.Request, *, email: str = "", error: str = "", status: int = 200, next_path: str = ""
) -> web.Response:
    cookie, new = login_cookie(request)
    wanted = next_path or safe_next(request.query.get("next")) or ""
    ctx: dict[str, Any] = {
        "email": email,
        "error": error,
        "next": wanted,
        "login_csrf": login_csrf_token(request, cookie),
        "asking_app": await _asking_app(request, wanted),
    }
    resp = page(request, "login.html", ctx, status=status)
    # Signing in continues to the authorization request, which may answer straight to the client.
    form_action.allow_redirect(resp, await form_action.authorization_redirect(request, wanted))
    if new:
        set_login_cookie(request, resp, cookie)
    return resp


@routes.get("/login")
async def login_form(request: web.Request) -> web.Response:
    """The sign-in page; signed in, it continues at once, unless ``reauth`` (an authorization request
    needs a fresh sign-in: OpenID Connect ``prompt=login``, ``max_age``). ``login_hint`` (OpenID
    Connect Core §3.1.2.1) is the email it starts with."""
    if await get_session(request) is not None and request.query.get("reauth") != "1":
        return see_other(safe_next(request.query.get("next")) or DEFAULT_NEXT)
    hint = request.query.get("login_hint", "")
    return await _login_page(request, email=hint if len(hint) <= MAX_HINT else "")


@routes.post("/login")
async def login(request: web.Request) -> web.Response:
    form = await request.post()
    check_login_csrf(request, _text(form.get("csrf_token")))
    email = _text(form.get("email")).strip()
    password = _text(form.get("password"))
    wanted = safe_next(_text(form.get("next")) or request.query.get("next")) or ""
    if not email or not password:
        return await _login_page(request, email=email, error=SIGN_IN_FAILED, status=401, next_path=wanted)
    async with request.app[SIGN_IN_GATE].slot(throttle_subject(request.remote or "")) as refused:
        if refused:
            return await _busy_page(request, email, wanted, per_address=refused == "address")
        attempt = await ratelimit.sign_in_attempt(request, email)
        if attempt.retry_after:
            return await _throttled_page(request, email, wanted, attempt.retry_after)
        try:
            account = await registry(request).authenticate(email, password, request_id=request_id(request))
        except InvalidGrant:
            return await _login_page(request, email=email, error=SIGN_IN_FAILED, status=401, next_path=wanted)
    await ratelimit.sign_in_succeeded(request, attempt)
    target = wanted or DEFAULT_NEXT
    resp = see_other(target)
    if await get_session(request) is not None:
        await destroy_session(request, resp)  # a fresh session id on every sign-in
    await create_session(request, resp, account)
    return resp


async def _throttled_page(request: web.Request, email: str, wanted: str, wait: int) -> web.Response:
    minutes = -(-wait // 60)
    error = f"Too many failed sign-in attempts. Try again in {minutes} minute{'s' if minutes > 1 else ''}."
    resp = await _login_page(request, email=email, error=error, status=429, next_path=wanted)
    resp.headers["Retry-After"] = str(wait)
    return resp


async def _busy_page(request: web.Request, email: str, wanted: str, *, per_address: bool) -> web.Response:
    """No password check slot: 429 when this address has its share in flight, else 503 (all busy)."""
    error = "Too many sign-ins at once. Try again in a moment."
    status = 429 if per_address else 503
    resp = await _login_page(request, email=email, error=error, status=status, next_path=wanted)
    resp.headers["Retry-After"] = "1"
    return resp


@routes.post("/logout")
async def logout(request: web.Request) -> web.Response:
    session = await get_session(request)
    resp = see_other("/login")
    if session is None:
        return resp
    form = await request.post()
    check_csrf(session, _text(form.get("csrf_token")))
    await destroy_session(request, resp)
    return resp


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
