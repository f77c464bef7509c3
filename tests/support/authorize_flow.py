"""Helpers for the authorization endpoint's tests: an app, a user with a signed-in client, authorize
URLs, the consent page's form, the decision, and what Redis holds afterwards."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import aiohttp
import msgspec
from multidict import CIMultiDictProxy

from shared.grants import keys as grant_keys
from shared.grants.records import CodeRecord, GrantRecord
from shared.messages.registry import AccountView, AppView
from shared.tokens import Signer
from tests.support.factories import create_account, create_app, new_http, sign_in
from tests.support.system import System

CB = "https://client.example/cb?tenant=acme"
OTHER_CB = "https://client.example/other"
LOOPBACK = "http://127.0.0.1/loopback"
APP_SCOPES = ("meetings:read", "transcripts:read", "recordings:read")
# RFC 7636 Appendix B
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

Params = dict[str, str | None] | Sequence[tuple[str, str]]


@dataclass
class Answer:
    status: int
    headers: CIMultiDictProxy[str]
    text: str

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")

    def redirect_params(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.location).query))


class _ConsentForm(HTMLParser):
    """The inputs of the consent form (``action="/oauth/authorize"``) and the page's image sources."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.hidden: list[tuple[str, str]] = []
        self.checkboxes: list[tuple[str, bool]] = []
        self.buttons: list[tuple[str, str]] = []
        self.resources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in ("img", "script", "iframe") and "src" in a:
            self.resources.append(a["src"])
        if tag == "link" and "href" in a:
            self.resources.append(a["href"])
        if tag == "form":
            self.inside = a.get("action") == "/oauth/authorize"
        if not self.inside:
            return
        if tag == "input" and a.get("type") == "hidden":
            self.hidden.append((a["name"], a["value"]))
        elif tag == "input" and a.get("type") == "checkbox":
            self.checkboxes.append((a["value"], "checked" in a))
        elif tag == "button":
            self.buttons.append((a.get("name", ""), a.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False


@dataclass
class ConsentPage:
    answer: Answer
    hidden: list[tuple[str, str]]
    checkboxes: list[tuple[str, bool]]
    buttons: list[tuple[str, str]]
    resources: list[str]

    @classmethod
    def parse(cls, answer: Answer) -> ConsentPage:
        form = _ConsentForm()
        form.feed(answer.text)
        return cls(answer, form.hidden, form.checkboxes, form.buttons, form.resources)

    @property
    def fields(self) -> dict[str, str]:
        return dict(self.hidden)

    @property
    def token(self) -> str:
        return self.fields["consent_token"]

    @property
    def scopes(self) -> list[str]:
        return [name for name, _ in self.checkboxes]


@dataclass
class Flow:
    """An app (registered with ``CB``, ``OTHER_CB`` and a loopback URI) and a user signed in on ``http``."""

    system: System
    owner: AccountView
    app: AppView
    user: AccountView
    http: aiohttp.ClientSession
    anonymous: aiohttp.ClientSession
    _closing: list[aiohttp.ClientSession] = field(default_factory=list)

    @property
    def client_id(self) -> str:
        return self.app.client_id

    def params(self, **overrides: str | None) -> dict[str, str | None]:
        base: dict[str, str | None] = {
            "client_id": self.client_id,
            "redirect_uri": CB,
            "response_type": "code",
            "scope": "meetings:read transcripts:read",
            "state": "st-1",
            "code_challenge": CHALLENGE,
            "code_challenge_method": "S256",
        }
        base.update(overrides)
        return base

    def url(self, params: Params | None = None, **overrides: str | None) -> str:
        return self.system.url(authorize_path(params if params is not None else self.params(**overrides)))

    async def get(
        self, params: Params | None = None, *, signed_in: bool = True, **overrides: str | None
    ) -> Answer:
        http = self.http if signed_in else self.anonymous
        return await fetch(http, self.url(params, **overrides))

    async def consent(self, params: Params | None = None, **overrides: str | None) -> ConsentPage:
        answer = await self.get(params, **overrides)
        assert answer.status == 200, (answer.status, answer.location, answer.text[:400])
        return ConsentPage.parse(answer)

    async def decide(
        self,
        page: ConsentPage,
        decision: str | None = "authorize",
        *,
        granted: Sequence[str] | None = None,
        http: aiohttp.ClientSession | None = None,
        **overrides: str | None,
    ) -> Answer:
        """Post the page's form; ``granted`` defaults to every ticked box, overrides replace fields."""
        fields = dict(page.hidden)
        fields.update(overrides)
        form = [(k, v) for k, v in fields.items() if v is not None]
        form += [("granted", s) for s in (page.scopes if granted is None else granted)]
        if decision is not None:
            form.append(("decision", decision))
        return await post_form(http or self.http, self.system.url("/oauth/authorize"), form)

    async def codes(self) -> list[tuple[str, int, CodeRecord]]:
        return await codes_of(self.system, self.user.id)

    async def grant(self) -> GrantRecord | None:
        raw = await self.system.redis.hget(grant_keys.user_grants(self.user.id), self.client_id)
        return None if raw is None else msgspec.json.decode(raw, type=GrantRecord)

    def signature(self, code: str) -> str:
        return Signer(self.system.settings.hmac_key).sign(code)


def authorize_path(params: Params) -> str:
    pairs = params.items() if isinstance(params, dict) else params
    return "/oauth/authorize?" + urlencode([(k, v) for k, v in pairs if v is not None], quote_via=quote)


async def fetch(http: aiohttp.ClientSession, url: str) -> Answer:
    async with http.get(url, allow_redirects=False) as resp:
        return Answer(resp.status, resp.headers, await resp.text())


async def post_form(http: aiohttp.ClientSession, url: str, form: list[tuple[str, str]]) -> Answer:
    async with http.post(url, data=form, allow_redirects=False) as resp:
        return Answer(resp.status, resp.headers, await resp.text())


async def codes_of(system: System, user_id: str) -> list[tuple[str, int, CodeRecord]]:
    """Every stored code of ``user_id``: (key, TTL, record)."""
    found = []
    async for key in system.redis.scan_iter(match=f"{grant_keys.P}:{{f:*}}:code:*", count=1000):
        raw = await system.redis.get(key)
        if raw is None:
            continue
        record = msgspec.json.decode(raw, type=CodeRecord)
        if record.user_id == user_id:
            found.append((key.decode(), await system.redis.ttl(key), record))
    return found


@contextlib.asynccontextmanager
async def flow(
    system: System,
    *,
    plan: str = "free",
    redirect_uris: Sequence[str] = (CB, OTHER_CB, LOOPBACK),
    scopes: Sequence[str] = APP_SCOPES,
    **app_options: Any,
) -> AsyncIterator[Flow]:
    owner = await create_account(system, name="Olga Owner")
    app, _ = await create_app(
        system,
        owner,
        name="Meeting Notes",
        description="Turns your meetings into notes.",
        homepage_url="https://notes.example/home",
        redirect_uris=list(redirect_uris),
        scopes=list(scopes),
        **app_options,
    )
    user = await create_account(system, plan=plan)
    async with new_http() as http, new_http() as anonymous:
        await sign_in(system, http, user.email)
        yield Flow(system, owner, app, user, http, anonymous)
