"""Small helpers for the account and developer pages: the registry client, redirects, safe
``next`` paths, and the pre-session CSRF token of the sign-in form."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from services.gateway.keys import BUS, REQUEST_ID, SETTINGS
from services.gateway.rendering import render
from services.gateway.sessions import cookie_name
from shared.errors import CsrfFailed
from shared.registry_client import RegistryClient

LOGIN_CSRF_COOKIE = "mavio_login_csrf"


def registry(request: web.Request) -> RegistryClient:
    return RegistryClient(request.app[BUS])


def request_id(request: web.Request) -> str:
    return request[REQUEST_ID]


def page(
    request: web.Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> web.Response:
    """A signed-in or sign-in page: never cached (CSP and framing: ``security_headers``)."""
    resp = render(request, template, context, status=status)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def see_other(location: str) -> web.Response:
    """303 See Other: after a POST the browser follows with a GET."""
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


def safe_next(value: str | None) -> str | None:
    """``value`` if it is a path on this site (one leading ``/``), else ``None`` (no open redirect).

    Refuses ``//host`` and ``/\\host`` (browsers treat both as another host), backslashes, control
    characters and anything with a scheme or host.
    """
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")) or len(value) > 2000:
        return None
    if "\\" in value or any(c.isspace() or unicodedata.category(c) == "Cc" for c in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def login_csrf_token(request: web.Request, cookie: str) -> str:
    """The sign-in form's token: HMAC of the pre-session cookie under the server key."""
    key = request.app[SETTINGS].hmac_key
    return hmac.new(key, b"login-csrf:" + cookie.encode(), hashlib.sha256).hexdigest()


def login_cookie(request: web.Request) -> tuple[str, bool]:
    """This browser's pre-session CSRF cookie value, and whether it is new (must be set)."""
    cookie = request.cookies.get(cookie_name(request.app[SETTINGS], LOGIN_CSRF_COOKIE), "")
    if cookie and len(cookie) <= 128:
        return cookie, False
    return secrets.token_urlsafe(32), True


def set_login_cookie(request: web.Request, response: web.StreamResponse, cookie: str) -> None:
    response.set_cookie(
        cookie_name(request.app[SETTINGS], LOGIN_CSRF_COOKIE),
        cookie,
        httponly=True,
        samesite="Lax",
        secure=request.app[SETTINGS].production,
        path="/",
    )


def check_login_csrf(request: web.Request, submitted: str | None) -> None:
    """Double submit: the form's token must be the HMAC of this browser's pre-session cookie."""
    cookie = request.cookies.get(cookie_name(request.app[SETTINGS], LOGIN_CSRF_COOKIE), "")
    expected = login_csrf_token(request, cookie) if cookie else ""
    if not cookie or not submitted or not hmac.compare_digest(submitted.encode(), expected.encode()):
        raise CsrfFailed("the sign-in form has expired or did not come from this site; try again")
