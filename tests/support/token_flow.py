"""Helpers for the token service's tests: a registered app and a user, codes (through the real consent
flow, or written exactly as the ``CodeRecord`` contract says for tests of the token service alone), token
requests, bus verification, and a full Redis dump for the at-rest checks."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import aiohttp
import msgspec

from shared import subjects
from shared.grants import keys as grant_keys
from shared.grants.records import CodeRecord
from shared.messages.registry import AccountView, AppView
from shared.tokens import Signer, mint, new_family_id
from tests.support.factories import create_account, create_app, new_http, sign_in
from tests.support.system import System

_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
_GRANTED = re.compile(r'<input type="checkbox" name="granted" value="([^"]+)"')


@dataclass
class Party:
    """The developer's app (with its one-time secret) and a user who will authorize it."""

    app: AppView
    secret: str
    user: AccountView
    owner: AccountView

    @property
    def client_id(self) -> str:
        return self.app.client_id

    @property
    def redirect_uri(self) -> str:
        return self.app.redirect_uris[0]

    def post_auth(self) -> dict[str, str]:
        """The client's credentials in the body: ``client_id`` alone for a public app (method ``none``)."""
        if not self.secret:
            return {"client_id": self.client_id}
        return {"client_id": self.client_id, "client_secret": self.secret}

    def basic_header(self) -> dict[str, str]:
        raw = f"{quote(self.client_id, safe='')}:{quote(self.secret, safe='')}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


async def new_party(system: System, **app_options: Any) -> Party:
    owner = await create_account(system, name="Developer")
    app, secret = await create_app(system, owner, **app_options)
    user = await create_account(system, name="Meeting Host")
    return Party(app, secret, user, owner)


def one_char_off(value: str) -> str:
    """``value`` with its last character changed (always changed, whatever it was)."""
    return value[:-1] + ("1" if value.endswith("0") else "0")


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def new_code(
    party: Party,
    *,
    scope: str,
    challenge: str | None = None,
    ttl: int = 600,
    redirect_uri: str | None = None,
    **oidc: Any,
) -> tuple[str, CodeRecord]:
    """A fresh code of its own family and its record (``oidc``: nonce, auth_time, sid, claims)."""
    family, now = new_family_id(), int(time.time())
    record = CodeRecord(
        family=family,
        client_id=party.client_id,
        user_id=party.user.id,
        redirect_uri=redirect_uri or party.redirect_uri,
        scope=scope,
        code_challenge=challenge,
        code_challenge_method="S256" if challenge else None,
        issued_at=now,
        expires_at=now + ttl,
        **oidc,
    )
    return mint("code", family), record


async def seed_code(
    system: System,
    party: Party,
    *,
    scope: str = "meetings:read users:read",
    challenge: str | None = None,
    ttl: int = 600,
    redirect_uri: str | None = None,
) -> str:
    """A code written exactly as the authorize service's contract says (``shared.records.CodeRecord``)."""
    code, record = new_code(party, scope=scope, challenge=challenge, ttl=ttl, redirect_uri=redirect_uri)
    family = record.family
    signature = Signer(system.settings.hmac_key).sign(code)
    await system.redis.set(grant_keys.code(family, signature), msgspec.json.encode(record), ex=ttl)
    return code


async def consent_code(
    system: System, party: Party, *, scope: str = "meetings:read users:read", challenge: str | None = None
) -> str:
    """A code through the real flow: the user signs in, opens the consent page and clicks Authorize
    (``prompt=consent``: the page is shown even when an earlier grant is remembered)."""
    query = {
        "prompt": "consent",
        "response_type": "code",
        "client_id": party.client_id,
        "redirect_uri": party.redirect_uri,
        "scope": scope,
        "state": secrets.token_urlsafe(8),
    }
    if challenge:
        query |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    location = await approve(system, party, system.url("/oauth/authorize?" + urlencode(query)))
    return parse_qs(urlsplit(location).query)["code"][0]


async def approve(
    system: System, party: Party, authorization_url: str, *, http: aiohttp.ClientSession | None = None
) -> str:
    """Sign the user in (unless ``http`` is a client already signed in), load ``authorization_url``'s
    consent page, click Authorize: the redirect URL."""
    if http is not None:
        return await _authorize(system, http, authorization_url)
    async with new_http() as fresh:
        await sign_in(system, fresh, party.user.email)
        return await _authorize(system, fresh, authorization_url)


async def _authorize(system: System, http: aiohttp.ClientSession, authorization_url: str) -> str:
    async with http.get(authorization_url, allow_redirects=False) as resp:
        page = await resp.text()
        assert resp.status == 200, f"no consent page: {resp.status} {page[:300]}"
    form = [(name, html.unescape(value)) for name, value in _HIDDEN.findall(page)]
    form += [("granted", html.unescape(name)) for name in _GRANTED.findall(page)]
    form.append(("decision", "authorize"))
    async with http.post(system.url("/oauth/authorize"), data=form, allow_redirects=False) as resp:
        assert resp.status == 303, f"decision refused: {resp.status} {(await resp.text())[:300]}"
        return resp.headers["Location"]


async def token_request(
    system: System,
    form: dict[str, str] | list[tuple[str, str]] | str,
    *,
    headers: dict[str, str] | None = None,
    path: str = "/oauth/token",
) -> tuple[int, Any, dict[str, Any]]:
    """POST a form to the token endpoint: (status, headers, JSON body)."""
    async with system.http.post(system.url(path), data=form, headers=headers) as resp:
        body = await resp.read()
        return resp.status, resp.headers, json.loads(body) if body else {}


async def exchange(system: System, party: Party, code: str, **extra: str) -> tuple[int, Any, dict[str, Any]]:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": party.redirect_uri}
    return await token_request(system, {**form, **party.post_auth(), **extra})


async def refresh(
    system: System, party: Party, refresh_token: str, **extra: str
) -> tuple[int, Any, dict[str, Any]]:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return await token_request(system, {**form, **party.post_auth(), **extra})


async def tokens_for(system: System, party: Party, **seed: Any) -> dict[str, Any]:
    """A fresh token pair for ``party`` (seeded code exchanged at the endpoint)."""
    status, _, body = await exchange(system, party, await seed_code(system, party, **seed))
    assert status == 200, body
    return body


async def bus_verify(system: System, token: str) -> dict[str, Any]:
    msg = await system.nc.request(subjects.TOKEN_VERIFY, json.dumps({"token": token}).encode(), timeout=5)
    result: dict[str, Any] = json.loads(msg.data)
    return result


async def redis_dump(system: System) -> bytes:
    """Every key and every value (whatever its type) of the test Redis, as one blob."""
    parts: list[bytes] = []
    async for key in system.redis.scan_iter(count=1000):
        parts.append(key)
        kind = (await system.redis.type(key)).decode()
        if kind == "string":
            parts.append(await system.redis.get(key) or b"")
        elif kind == "hash":
            for field, value in (await system.redis.hgetall(key)).items():
                parts += [field, value]
        elif kind == "set":
            parts += list(await system.redis.smembers(key))
        elif kind == "zset":
            parts += [m for m, _ in await system.redis.zrange(key, 0, -1, withscores=True)]
        elif kind == "list":
            parts += list(await system.redis.lrange(key, 0, -1))
        parts.append(b"\n")
    return b"\x00".join(parts)


async def api_calls(system: System, client_id: str) -> int:
    raw = await system.redis.get(grant_keys.app_calls_total(client_id))
    return int(raw or 0)


def last_char_changed(value: str) -> str:
    """``value`` with its last character replaced by another (a token or secret that is almost right);
    never ``value`` itself, whatever its random last character is."""
    return value[:-1] + ("y" if value.endswith("x") else "x")
