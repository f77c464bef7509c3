"""The bench as a user of the shipped stack: only what a user has, HTTP.

Signs in as the demo account ``make run`` creates (``services.stack.demo``) through the ``/login`` form,
registers the bench apps (confidential and public) through the developer JSON API, authorizes once on
the consent page (scope ``openid meetings:read``), and from then on mints each window's codes with
``GET /oauth/authorize``: the remembered consent answers with the redirect carrying the code. Refresh
tokens come from such codes exchanged at ``/oauth/token``. Codes are minted before a window, never in it.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import aiohttp

from services.stack.demo import DEMO_EMAIL, DEMO_PASSWORD
from shared.pkce import s256_challenge

REDIRECT = "http://127.0.0.1:9/cb"
SCOPE = "meetings:read"
OIDC_SCOPE = "openid meetings:read"  # the ID token signed RS256 (the app's default algorithm)
APPS_API = "/api/v1/oauth-apps"
PARALLEL = 10  # authorization requests in flight while minting (between windows)


class _FormFields(HTMLParser):
    """What a browser submits from the form posting to ``action``: named inputs (hidden, and checked
    checkboxes that are not disabled)."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.fields = action, False, list[tuple[str, str]]()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action") == self.action
        elif self.inside and tag == "input" and "name" in a and "disabled" not in a:
            if a.get("type") != "checkbox" or "checked" in a:
                self.fields.append((a["name"], a.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False


def form_fields(html: str, action: str) -> list[tuple[str, str]]:
    parser = _FormFields(action)
    parser.feed(html)
    return parser.fields


def code_of(location: str) -> str:
    """The ``code`` of a redirect to the client; an error redirect or page raises."""
    query = parse_qs(urlsplit(location).query)
    if not location.startswith(REDIRECT) or "code" not in query:
        raise RuntimeError(f"authorization gave no code: {location[:300]!r}")
    return query["code"][0]


@dataclass(frozen=True)
class App:
    client_id: str
    secret: str  # "" for a public app

    def basic_auth(self) -> dict[str, str]:
        """client_secret_basic (RFC 6749 §2.3.1); none for a public app."""
        if not self.secret:
            return {}
        pair = f"{quote(self.client_id, safe='')}:{quote(self.secret, safe='')}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}


class User:
    """The demo account signed in on ``base`` (its own cookie jar); close with ``close``."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.origin = {"Origin": base}
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def close(self) -> None:
        await self.http.close()

    async def sign_in(self) -> None:
        async with self.http.get(f"{self.base}/login") as resp:
            page = await resp.text()
        form = dict(form_fields(page, "/login")) | {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
        url = f"{self.base}/login"
        async with self.http.post(url, data=form, headers=self.origin, allow_redirects=False) as resp:
            if resp.status != 303:
                raise RuntimeError(f"sign-in refused: {resp.status} {(await resp.text())[:300]}")

    async def register(self, name: str, client_type: str) -> App:
        body: dict[str, Any] = {
            "name": name,
            "homepage_url": "https://bench.example",
            "redirect_uris": [REDIRECT],
            "scopes": ["openid", SCOPE],
            "client_type": client_type,
        }
        async with self.http.post(f"{self.base}{APPS_API}", json=body, headers=self.origin) as resp:
            reply = await resp.json()
            if resp.status != 201:
                raise RuntimeError(f"app registration refused: {resp.status} {reply}")
        return App(reply["client_id"], reply.get("client_secret") or "")

    def _authorize_url(self, app: App, verifier: str, scope: str) -> str:
        query = {
            "response_type": "code",
            "client_id": app.client_id,
            "redirect_uri": REDIRECT,
            "scope": scope,
            "state": secrets.token_urlsafe(8),
            "code_challenge": s256_challenge(verifier),
            "code_challenge_method": "S256",
        }
        if "openid" in scope.split():
            query["nonce"] = secrets.token_urlsafe(16)
        return f"{self.base}/oauth/authorize?{urlencode(query)}"

    async def consent(self, app: App, scope: str = OIDC_SCOPE) -> None:
        """Authorize ``app`` once on the consent page, and let the app exchange that code: the grant is
        remembered from then on, while the exchanged family lives (``shared.grants.active``).

        Exchanged, not merely pending: a grant live only through its latest code's pending state is
        seen as not live by an authorization that reads it while a concurrent one has recorded its new
        code family but not yet stored that code (it shows the consent page); minting codes in
        parallel would then stop at a consent page now and then."""
        verifier = secrets.token_urlsafe(48)
        async with self.http.get(self._authorize_url(app, verifier, scope)) as resp:
            page = await resp.text()
            if resp.status != 200:
                raise RuntimeError(f"no consent page: {resp.status} {page[:300]}")
        form = [*form_fields(page, "/oauth/authorize"), ("decision", "authorize")]
        url = f"{self.base}/oauth/authorize"
        async with self.http.post(url, data=form, headers=self.origin, allow_redirects=False) as resp:
            code = code_of(resp.headers.get("Location", ""))
        await self.exchange(app, code, verifier)

    async def code(self, app: App, scope: str = SCOPE) -> tuple[str, str]:
        """One (code, code_verifier) pair from a remembered consent's redirect."""
        verifier = secrets.token_urlsafe(48)
        async with self.http.get(self._authorize_url(app, verifier, scope), allow_redirects=False) as resp:
            if resp.status != 302:
                said = (await resp.text())[:2000]
                raise RuntimeError(f"authorize answered {resp.status}, not the redirect with a code: {said}")
            return code_of(resp.headers.get("Location", "")), verifier

    async def codes(self, app: App, count: int, scope: str = SCOPE) -> list[tuple[str, str]]:
        gate = asyncio.Semaphore(PARALLEL)

        async def one() -> tuple[str, str]:
            async with gate:
                return await self.code(app, scope)

        return list(await asyncio.gather(*(one() for _ in range(count))))

    async def exchange(self, app: App, code: str, verifier: str) -> str:
        """The app's side: exchange ``code`` (client_secret_basic; a public app: ``client_id`` alone);
        the refresh token."""
        form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
        form |= {"redirect_uri": REDIRECT} | ({} if app.secret else {"client_id": app.client_id})
        url, headers = f"{self.base}/oauth/token", app.basic_auth()
        async with self.http.post(url, data=form, headers=headers) as resp:
            reply = await resp.json()
            if resp.status != 200:
                raise RuntimeError(f"code exchange refused: {resp.status} {reply}")
            return str(reply["refresh_token"])

    async def refresh_tokens(self, app: App, count: int) -> list[str]:
        """``count`` refresh tokens, each from its own code (its own family)."""
        gate = asyncio.Semaphore(PARALLEL)

        async def one(code: str, verifier: str) -> str:
            async with gate:
                return await self.exchange(app, code, verifier)

        return list(await asyncio.gather(*(one(c, v) for c, v in await self.codes(app, count))))
