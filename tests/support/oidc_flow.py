"""Helpers for the OpenID Connect tests: an app registered for ``openid profile email``, the user's
sign-in session as Redis holds it (to date it back: "the user signed in N seconds ago"), and a fresh
sign-in through the ``/login`` form that continues to where it was sent."""

from __future__ import annotations

import hashlib
import hmac
import re
from urllib.parse import parse_qs, urlsplit

import aiohttp
import msgspec

from services.gateway.sessions import COOKIE, Session
from shared import keys
from tests.support.authorize_flow import APP_SCOPES, Answer, Flow, fetch
from tests.support.factories import DEFAULT_PASSWORD
from tests.support.system import System

OIDC_SCOPES = ("openid", "profile", "email", *APP_SCOPES)


def session_key(system: System, http: aiohttp.ClientSession) -> str:
    """The Redis key of the session ``http`` holds (its cookie's HMAC, as the gateway builds it)."""
    [cookie] = [c for c in http.cookie_jar if c.key == COOKIE]
    sig = hmac.new(system.settings.hmac_key, b"session:" + cookie.value.encode(), hashlib.sha256)
    return keys.session(sig.hexdigest())


async def session_of(system: System, http: aiohttp.ClientSession) -> Session:
    raw = await system.redis.get(session_key(system, http))
    assert raw is not None, "no session"
    return msgspec.json.decode(raw, type=Session)


async def date_back(system: System, http: aiohttp.ClientSession, seconds: int) -> Session:
    """Make the user's last sign-in ``seconds`` older (the clock moved on by that much since)."""
    key = session_key(system, http)
    session = await session_of(system, http)
    aged = msgspec.structs.replace(session, auth_time=session.auth_time - seconds)
    await system.redis.set(key, msgspec.json.encode(aged), keepttl=True)
    return aged


async def sign_in_again(f: Flow, login_location: str) -> Answer:
    """Follow the authorization endpoint's redirect to ``/login``, sign in there, and follow the
    sign-in's redirect back to the authorization request: its answer (the client's redirect)."""
    page = await fetch(f.http, f.system.url(login_location))
    assert page.status == 200, (page.status, page.location)
    [next_path] = parse_qs(urlsplit(login_location).query)["next"]
    # the sign-in form's own token (a signed-in page also has the sign-out form's)
    found = re.search(r'action="/login">\s*<input type="hidden" name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    token = found.group(1)
    form = {"csrf_token": token, "email": f.user.email, "password": DEFAULT_PASSWORD, "next": next_path}
    async with f.http.post(f.system.url("/login"), data=form, allow_redirects=False) as resp:
        assert resp.status == 303, await resp.text()
        back = resp.headers["Location"]
    assert back == next_path
    return await fetch(f.http, f.system.url(back))
