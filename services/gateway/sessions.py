"""Sign-in sessions (Redis, with expiry) and CSRF tokens for state-changing forms.

The cookie holds a random session id; Redis holds the session under the HMAC of that id, so a
Redis dump gives no usable cookie. Cookie: HttpOnly, SameSite=Lax, Secure in production.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from urllib.parse import quote

import msgspec
from aiohttp import web

from services.gateway.keys import SETTINGS, redis_of
from shared import keys
from shared.config import Settings
from shared.errors import CsrfFailed
from shared.messages.authorize import SignIn
from shared.messages.registry import AccountView

COOKIE = "mavio_session"
HOST_PREFIX = "__Host-"  # RFC 6265bis §4.1.3.2: Secure, Path=/, no Domain; no subdomain can set or shadow it


def cookie_name(settings: Settings, name: str) -> str:
    """``name`` with the ``__Host-`` prefix in production (cookies there are always Secure)."""
    return HOST_PREFIX + name if settings.production else name


class Session(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    email: str
    display_name: str
    csrf: str  # per-session secret; forms carry it, consent binds request-specific tokens to it
    created_at: int
    # OpenID Connect: when the user last actually entered a password (a session is made at each
    # sign-in, so it is ``created_at``; 0 in sessions made before it existed) and the session's own
    # random id, the ID token's ``sid`` (never the cookie's value, which stays a secret).
    auth_time: int = 0
    sid: str = ""


def sign_in_of(session: Session) -> SignIn:
    """What an authorization request learns of the session (``auth_time``, ``sid``)."""
    return SignIn(auth_time=session.auth_time or session.created_at, sid=session.sid)


SESSION = web.RequestKey("session", Session)
SESSION_LOADED = web.RequestKey("session_loaded", bool)


def _sig(request: web.Request, sid: str) -> str:
    key = request.app[SETTINGS].hmac_key
    return hmac.new(key, b"session:" + sid.encode(), hashlib.sha256).hexdigest()


async def create_session(request: web.Request, response: web.StreamResponse, account: AccountView) -> Session:
    settings = request.app[SETTINGS]
    sid = secrets.token_urlsafe(32)
    now = int(time.time())
    session = Session(
        user_id=account.id,
        email=account.email,
        display_name=account.display_name,
        csrf=secrets.token_urlsafe(32),
        created_at=now,
        auth_time=now,
        sid=secrets.token_urlsafe(16),
    )
    await redis_of(request.app).set(
        keys.session(_sig(request, sid)), msgspec.json.encode(session), ex=settings.session_ttl
    )
    response.set_cookie(
        cookie_name(settings, COOKIE),
        sid,
        max_age=settings.session_ttl,
        httponly=True,
        samesite="Lax",
        secure=settings.production,
        path="/",
    )
    request[SESSION] = session
    request[SESSION_LOADED] = True
    return session


async def get_session(request: web.Request) -> Session | None:
    """The signed-in session, or None; loaded once per request."""
    if request.get(SESSION_LOADED):
        return request.get(SESSION)
    request[SESSION_LOADED] = True
    sid = request.cookies.get(cookie_name(request.app[SETTINGS], COOKIE))
    if not sid or len(sid) > 128:
        return None
    raw = await redis_of(request.app).get(keys.session(_sig(request, sid)))
    if raw is None:
        return None
    session = msgspec.json.decode(raw, type=Session)
    request[SESSION] = session
    return session


async def destroy_session(request: web.Request, response: web.StreamResponse) -> None:
    name = cookie_name(request.app[SETTINGS], COOKIE)
    sid = request.cookies.get(name)
    if sid:
        await redis_of(request.app).delete(keys.session(_sig(request, sid)))
    response.del_cookie(name, path="/", secure=request.app[SETTINGS].production)


def login_redirect(request: web.Request) -> web.HTTPFound:
    return web.HTTPFound("/login?next=" + quote(request.path_qs, safe=""))


async def require_session(request: web.Request) -> Session:
    """The session, or a redirect to ``/login?next=<this path and query>``."""
    session = await get_session(request)
    if session is None:
        raise login_redirect(request)
    return session


def check_csrf(session: Session, submitted: str | None) -> None:
    """Refuse a state-changing form without the session's CSRF token (constant-time compare)."""
    if not submitted or not hmac.compare_digest(submitted.encode(), session.csrf.encode()):
        raise CsrfFailed("the form has expired or did not come from this site; go back and try again")


def bound_csrf(session: Session, *parts: str) -> str:
    """A CSRF token bound to this session and to ``parts`` (e.g. an exact authorization request)."""
    msg = "\x1f".join(parts).encode()
    return hmac.new(session.csrf.encode(), msg, hashlib.sha256).hexdigest()
