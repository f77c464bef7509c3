"""The client secret and the webhook signing secret, shown once: the POST that creates either answers
303 to a one-time view (one view shows both when an app is registered with a webhook URL).

The secret never rests in plain text: Redis keeps it XOR-masked with a random pad of its own length
(a one-time pad) for at most ``keys.CREDENTIALS_VIEW_TTL`` seconds, and the pad travels only in an
HttpOnly, SameSite=Strict cookie scoped to the view's path. The view reads the Redis half with
GETDEL, so a reload (or a replayed cookie) finds nothing and says the secret was already shown.
"""

from __future__ import annotations

import secrets

import msgspec
from aiohttp import web

from services.gateway.developer.common import app_path
from services.gateway.form_action import content_security_policy
from services.gateway.keys import SETTINGS, redis_of
from services.gateway.sessions import Session
from services.gateway.web_helpers import see_other
from shared import keys

COOKIE = "mavio_credentials"
# The one page with a script: the copy buttons' ``/static/copy.js`` (this origin only; no inline script).
VIEW_CSP = content_security_policy(script=True)


class Masked(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    client_id: str
    masked: str  # hex of secret XOR pad
    created: bool
    old_secret_valid_until: int = 0


class Revealed(msgspec.Struct, frozen=True, kw_only=True):
    client_secret: str = ""  # "" when only a webhook signing secret was minted
    created: bool = False
    old_secret_valid_until: int = 0
    webhook_secret: str = ""


class _Secrets(msgspec.Struct, frozen=True, kw_only=True):
    """What is masked: the one or two secrets to show."""

    client_secret: str = ""
    webhook_secret: str = ""


def cookie_name(request: web.Request) -> str:
    """``__Secure-`` in production (the cookie is path-scoped, so ``__Host-`` cannot apply)."""
    return ("__Secure-" if request.app[SETTINGS].production else "") + COOKIE


def _xor(data: bytes, pad: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, pad, strict=True))


async def show_once(
    request: web.Request,
    session: Session,
    client_id: str,
    secret: str,
    *,
    created: bool,
    old_secret_valid_until: int = 0,
    webhook_secret: str = "",
) -> web.Response:
    """Store the masked secret(s), set the pad cookie, and send the browser to the one-time view."""
    raw = msgspec.json.encode(_Secrets(client_secret=secret, webhook_secret=webhook_secret))
    pad = secrets.token_bytes(len(raw))
    view_id = secrets.token_urlsafe(18)
    record = Masked(
        user_id=session.user_id,
        client_id=client_id,
        masked=_xor(raw, pad).hex(),
        created=created,
        old_secret_valid_until=old_secret_valid_until,
    )
    await redis_of(request.app).set(
        keys.credentials_view(view_id), msgspec.json.encode(record), ex=keys.CREDENTIALS_VIEW_TTL
    )
    path = app_path(client_id, "credentials")
    resp = see_other(path)
    resp.set_cookie(
        cookie_name(request),
        f"{view_id}.{pad.hex()}",
        max_age=keys.CREDENTIALS_VIEW_TTL,
        path=path,
        httponly=True,
        samesite="Strict",
        secure=request.app[SETTINGS].production,
    )
    return resp


async def reveal(request: web.Request, session: Session, client_id: str) -> Revealed | None:
    """The secret for this one view, or None (already shown, expired, another user or app)."""
    view_id, _, pad_hex = request.cookies.get(cookie_name(request), "").partition(".")
    if not view_id or len(view_id) > 64:
        return None
    raw = await redis_of(request.app).getdel(keys.credentials_view(view_id))
    if raw is None:
        return None
    try:
        record = msgspec.json.decode(raw, type=Masked)
        pad = bytes.fromhex(pad_hex)
        masked = bytes.fromhex(record.masked)
        if record.user_id != session.user_id or record.client_id != client_id or len(pad) != len(masked):
            return None
        shown = msgspec.json.decode(_xor(masked, pad), type=_Secrets)
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError):
        return None
    return Revealed(
        client_secret=shown.client_secret,
        webhook_secret=shown.webhook_secret,
        created=record.created,
        old_secret_valid_until=record.old_secret_valid_until,
    )


def finish_view(request: web.Request, resp: web.StreamResponse, client_id: str, *, shown: bool) -> None:
    """The view's headers: the pad cookie deleted; while a secret is shown, a policy that lets the
    copy script run (every other page, and this one afterwards, keeps the no-script default)."""
    production = request.app[SETTINGS].production
    resp.del_cookie(cookie_name(request), path=app_path(client_id, "credentials"), secure=production)
    if shown:
        resp.headers["Content-Security-Policy"] = VIEW_CSP
