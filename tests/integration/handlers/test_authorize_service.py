"""The authorize service's handlers on the real grant and consent-page stores (a real Redis) with a
stand-in registry: order of checks, decisions, issuance."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import msgspec
import pytest

from services.authorize.handlers import Authorizer
from services.authorize.page_store import RedisPageStore
from shared import tokens
from shared.config import Settings
from shared.errors import InvalidRequest, NotFound, UnknownClient, UnsupportedResponseType
from shared.grants import keys as grant_keys
from shared.grants.records import CodeRecord, GrantRecord
from shared.grants.store import RedisGrantStore, grant_store
from shared.messages.authorize import (
    CheckAuthorizationRequest,
    DecideAuthorizationRequest,
    Decision,
    DecisionRefused,
    RedirectTo,
    ShowConsent,
    ShowSignIn,
    SignIn,
)
from shared.messages.registry import AccountView, AppView
from shared.scopes import ScopeCatalog
from shared.service import Meta
from tests.support.system import System

CLIENT = "mavio_client_AAAAAAAAAAAAAAAA"
CB = "https://app.example/cb"
ISSUER = "https://auth.mavio.test"
SIGNER = tokens.Signer(b"s" * 32)
META = Meta("rid", {})
SESSION = "session-binding"
NOW = [0.0]


@pytest.fixture(autouse=True)
def _clock() -> None:
    NOW[0] = float(int(time.time()))


class FakeRegistry:
    def __init__(self) -> None:
        self.apps: dict[str, AppView] = {}
        self.accounts: dict[str, AccountView] = {}
        self.app_calls = 0

    async def get_app(self, client_id: str, *, request_id: str | None = None) -> AppView:
        self.app_calls += 1
        if client_id not in self.apps:
            raise NotFound("no such app")
        return self.apps[client_id]

    async def get_account(self, user_id: str, *, request_id: str | None = None) -> AccountView:
        if user_id not in self.accounts:
            raise NotFound("no such account")
        return self.accounts[user_id]


class Stored:
    """What the real stores hold, read straight from Redis, and the one change a test makes there."""

    def __init__(self, redis: Any, store: RedisGrantStore) -> None:
        self.redis = redis
        self.store = store

    async def codes(self) -> list[tuple[CodeRecord, int]]:
        """Every stored code's record with its TTL in whole seconds (rounded up)."""
        found = []
        async for key in self.redis.scan_iter(match=grant_keys.code("*", "*")):
            raw, pttl = await self.redis.get(key), await self.redis.pttl(key)
            found.append((msgspec.json.decode(raw, type=CodeRecord), math.ceil(pttl / 1000)))
        return found

    async def code(self, code: str) -> tuple[CodeRecord, int]:
        """The record of ``code`` (stored under its signature, in its family's slot) with its TTL."""
        key = grant_keys.code(code.removeprefix("mavio_code_")[:16], SIGNER.sign(code))
        raw, pttl = await self.redis.get(key), await self.redis.pttl(key)
        assert raw is not None, "no such code stored"
        return msgspec.json.decode(raw, type=CodeRecord), math.ceil(pttl / 1000)

    async def grants(self) -> dict[tuple[str, str], GrantRecord]:
        """Every user's grants, by (user id, client id)."""
        found = {}
        async for key in self.redis.scan_iter(match=grant_keys.user_grants("*")):
            user_id = key.decode().split("{u:", 1)[1].split("}", 1)[0]
            for client_id, grant in (await self.store.grants(user_id)).items():
                found[(user_id, client_id)] = grant
        return found

    async def revoke_grant(self, user_id: str, client_id: str) -> None:
        """The user revoked the app: the grant is gone."""
        await self.store.drop_grants(client_id, [user_id])


@pytest.fixture
def registry() -> FakeRegistry:
    reg = FakeRegistry()
    reg.apps[CLIENT] = msgspec.convert(
        {
            "client_id": CLIENT,
            "name": "Notes",
            "homepage_url": "https://app.example",
            "redirect_uris": [CB],
            "scopes": ["meetings:read", "transcripts:read", "recordings:read"],
            "owner_id": "owner",
        },
        AppView,
    )
    reg.accounts["u1"] = AccountView(id="u1", email="a@example.com", display_name="A", plan="free")
    return reg


@pytest.fixture
def real_store(redis: Any, system: System) -> RedisGrantStore:
    return grant_store(redis, system.settings)


@pytest.fixture
def store(redis: Any, real_store: RedisGrantStore) -> Stored:
    return Stored(redis, real_store)


@pytest.fixture
def cached(registry: FakeRegistry) -> FakeRegistry:
    """Stands in for the caching registry client: same data, its own call count."""
    view = FakeRegistry()
    view.apps = registry.apps
    view.accounts = registry.accounts
    return view


@pytest.fixture
def authorizer(
    cached: FakeRegistry, registry: FakeRegistry, redis: Any, real_store: RedisGrantStore, system: System
) -> Authorizer:
    settings: Settings = system.settings
    return Authorizer(
        cached=cached,
        registry=registry,
        store=real_store,
        page_store=RedisPageStore(redis, max_pages=settings.consent_pages_max),
        signer=SIGNER,
        catalog=ScopeCatalog.load(),
        code_ttl=600,
        issuer=ISSUER,
        consent_ttl=900,
        clock=lambda: NOW[0],
    )


def query(**overrides: str | None) -> list[tuple[str, str]]:
    base: dict[str, str | None] = {
        "client_id": CLIENT,
        "redirect_uri": CB,
        "response_type": "code",
        "scope": "meetings:read transcripts:read",
        "state": "st",
    }
    base.update(overrides)
    return [(k, v) for k, v in base.items() if v is not None]


async def check(
    authorizer: Authorizer, user_id: str = "u1", session: str = SESSION, **overrides: str | None
) -> object:
    req = CheckAuthorizationRequest(query=query(**overrides), user_id=user_id, session=session)
    return (await authorizer.check(req, META)).outcome


async def page(authorizer: Authorizer, **overrides: str | None) -> str:
    shown = await check(authorizer, **overrides)
    assert isinstance(shown, ShowConsent) and shown.consent, shown
    return shown.consent


async def decide(
    authorizer: Authorizer,
    decision: Decision = "authorize",
    granted: list[str] | None = None,
    *,
    consent: str | None = None,
    session: str = SESSION,
    **kw: str | None,
) -> object:
    """Decide on ``consent`` (by default a page shown for ``query(**kw)`` just now)."""
    granted = ["meetings:read", "transcripts:read"] if granted is None else granted
    consent = await page(authorizer, **kw) if consent is None else consent
    req = DecideAuthorizationRequest(
        consent=consent, session=session, user_id="u1", decision=decision, granted=granted
    )
    return (await authorizer.decide(req, META)).outcome


def location_params(outcome: object) -> dict[str, str]:
    assert isinstance(outcome, RedirectTo), outcome
    return dict(parse_qsl(urlsplit(outcome.location).query))


async def test_unknown_client_is_never_redirected(authorizer: Authorizer) -> None:
    with pytest.raises(UnknownClient):
        await check(authorizer, client_id="mavio_client_BBBBBBBBBBBBBBBB")


async def test_bad_redirect_uri_is_checked_before_sign_in(authorizer: Authorizer) -> None:
    with pytest.raises(InvalidRequest):
        await check(authorizer, user_id="", redirect_uri=CB + "/")


async def test_request_errors_come_before_sign_in(authorizer: Authorizer) -> None:
    assert location_params(await check(authorizer, response_type="token"))["error"] == (
        "unsupported_response_type"
    )


async def test_an_anonymous_request_error_is_raised_never_redirected(authorizer: Authorizer) -> None:
    """RFC 9700 §4.11.2: before sign-in the redirect URI is not trusted; the gateway shows a page."""
    with pytest.raises(UnsupportedResponseType):
        await check(authorizer, user_id="", response_type="token")


async def test_sign_in_comes_before_the_plan_check(authorizer: Authorizer) -> None:
    outcome = await check(authorizer, user_id="", scope="recordings:read")
    assert isinstance(outcome, ShowSignIn)
    assert location_params(await check(authorizer, scope="recordings:read"))["error"] == "invalid_scope"


async def test_sign_in_names_the_registered_redirect_uri_the_request_resolved_to(
    authorizer: Authorizer,
) -> None:
    """The sign-in page allows exactly this destination in its CSP ``form-action``."""
    assert await check(authorizer, user_id="") == ShowSignIn(redirect_uri=CB)
    assert await check(authorizer, user_id="", redirect_uri=None) == ShowSignIn(redirect_uri=CB)


async def test_a_session_whose_account_is_gone_must_sign_in_again(authorizer: Authorizer) -> None:
    assert isinstance(await check(authorizer, user_id="ghost"), ShowSignIn)


async def test_a_valid_request_shows_consent(authorizer: Authorizer) -> None:
    outcome = await check(authorizer)
    assert isinstance(outcome, ShowConsent)
    assert outcome.app.name == "Notes" and outcome.request.scopes == ["meetings:read", "transcripts:read"]


async def test_check_reads_through_the_cache_and_decide_asks_the_registry(
    authorizer: Authorizer, cached: FakeRegistry, registry: FakeRegistry
) -> None:
    consent = await page(authorizer)
    assert (cached.app_calls, registry.app_calls) == (1, 0)
    await decide(authorizer, "deny", consent=consent)
    assert (cached.app_calls, registry.app_calls) == (1, 1)


async def test_deny_issues_nothing(authorizer: Authorizer, store: Stored) -> None:
    got = location_params(await decide(authorizer, "deny"))
    assert got == {
        "error": "access_denied",
        "error_description": got["error_description"],
        "state": "st",
        "iss": ISSUER,
    }
    assert not await store.codes() and not await store.grants()


async def test_authorize_issues_a_code_and_records_the_grant(authorizer: Authorizer, store: Stored) -> None:
    got = location_params(await decide(authorizer, granted=["transcripts:read"]))
    assert got["state"] == "st"
    code = got["code"]
    record, ttl = await store.code(code)
    assert ttl == 600 and record.scope == "transcripts:read" and record.user_id == "u1"
    assert (await store.grants())[("u1", CLIENT)].scope == "transcripts:read"


async def test_nothing_ticked_shows_consent_again(authorizer: Authorizer, store: Stored) -> None:
    outcome = await decide(authorizer, granted=[])
    assert isinstance(outcome, ShowConsent) and outcome.notice
    assert not await store.codes() and not await store.grants()


async def test_granting_an_unrequested_scope_is_invalid_scope(authorizer: Authorizer, store: Stored) -> None:
    assert location_params(await decide(authorizer, granted=["recordings:read"]))["error"] == "invalid_scope"
    assert not await store.codes()


async def test_a_deleted_app_is_refused_at_decision_time(
    authorizer: Authorizer, registry: FakeRegistry
) -> None:
    consent = await page(authorizer)
    del registry.apps[CLIENT]
    with pytest.raises(UnknownClient):
        await decide(authorizer, consent=consent)


async def test_a_redirect_uri_removed_meanwhile_is_refused(
    authorizer: Authorizer, registry: FakeRegistry
) -> None:
    consent = await page(authorizer)
    registry.apps[CLIENT] = msgspec.structs.replace(registry.apps[CLIENT], redirect_uris=["https://other/cb"])
    with pytest.raises(InvalidRequest):
        await decide(authorizer, consent=consent)


async def test_every_authorization_response_names_the_issuer(authorizer: Authorizer) -> None:
    """RFC 9207 §2: ``iss`` on the code redirect and on every error redirect, before or after sign-in."""
    outcomes = [
        await check(authorizer, response_type="token"),
        await check(authorizer, scope="recordings:read"),
        await decide(authorizer, "deny"),
        await decide(authorizer, granted=["transcripts:read"]),
    ]
    assert [location_params(outcome)["iss"] for outcome in outcomes] == [ISSUER] * 4
    assert "code" in location_params(outcomes[-1])


# --- one decision per consent page ------------------------------------------------------------------


async def test_a_page_is_decided_once(authorizer: Authorizer, store: Stored) -> None:
    consent = await page(authorizer)
    assert "code" in location_params(await decide(authorizer, consent=consent))
    for decision in ("authorize", "deny"):
        assert isinstance(await decide(authorizer, decision, consent=consent), DecisionRefused)
    assert len(await store.codes()) == 1


@pytest.mark.parametrize("consent", ["", "forged", "A" * 43])
async def test_a_decision_on_no_page_is_refused(authorizer: Authorizer, store: Stored, consent: str) -> None:
    await page(authorizer)
    assert isinstance(await decide(authorizer, consent=consent), DecisionRefused)
    assert not await store.codes() and not await store.grants()


async def test_a_decision_from_another_session_is_refused(authorizer: Authorizer, store: Stored) -> None:
    consent = await page(authorizer)
    assert isinstance(await decide(authorizer, consent=consent, session="other"), DecisionRefused)
    assert isinstance(await decide(authorizer, consent=consent), DecisionRefused)  # and the page is spent
    assert not await store.codes()


async def test_a_stale_page_is_refused(authorizer: Authorizer, store: Stored) -> None:
    consent = await page(authorizer)
    NOW[0] += 900
    assert isinstance(await decide(authorizer, consent=consent), DecisionRefused)
    assert not await store.codes()


async def test_a_page_shown_before_a_revocation_is_refused(authorizer: Authorizer, store: Stored) -> None:
    location_params(await decide(authorizer))
    consent = await page(authorizer, prompt="consent")  # the grant is live: only a prompt shows a page
    await store.revoke_grant("u1", CLIENT)  # the user revoked the app
    assert isinstance(await decide(authorizer, consent=consent), DecisionRefused)
    assert ("u1", CLIENT) not in await store.grants() and len(await store.codes()) == 1


async def test_an_authorization_voids_the_apps_other_pages(authorizer: Authorizer, store: Stored) -> None:
    first = await page(authorizer, state="one")
    location_params(await decide(authorizer, state="two"))
    await store.revoke_grant("u1", CLIENT)  # revoked: the first page was shown with no grant, as now
    assert isinstance(await decide(authorizer, consent=first), DecisionRefused)
    assert len(await store.codes()) == 1


async def test_the_decision_is_about_the_stored_request(authorizer: Authorizer, store: Stored) -> None:
    consent = await page(authorizer, state=None)
    got = location_params(await decide(authorizer, consent=consent))
    assert "state" not in got
    [(record, _)] = await store.codes()
    assert record.code_challenge is None and record.redirect_uri == CB


async def test_max_age_after_the_clock_moved_two_seconds_asks_for_a_fresh_sign_in(
    authorizer: Authorizer, store: Stored
) -> None:
    """OpenID Connect ``max_age`` with the service's injected clock: one second allowed, two passed."""
    signed_in = SignIn(auth_time=int(NOW[0]), sid="sid-1")

    async def ask(**overrides: str) -> object:
        req = CheckAuthorizationRequest(
            query=query(**overrides), user_id="u1", session=SESSION, sign_in=signed_in
        )
        return (await authorizer.check(req, META)).outcome

    assert isinstance(await ask(max_age="1"), ShowConsent)
    NOW[0] += 2
    assert await ask(max_age="1") == ShowSignIn(redirect_uri=CB, reauthenticate=True)
    assert location_params(await ask(max_age="1", prompt="none"))["error"] == "login_required"
    assert isinstance(await ask(max_age="2"), ShowConsent)
    signed_in = SignIn(auth_time=int(NOW[0]), sid="sid-2")  # signed in again: auth_time moves
    shown = await ask(max_age="1", nonce="n-1")
    assert isinstance(shown, ShowConsent)
    decided = DecideAuthorizationRequest(
        consent=shown.consent,
        session=SESSION,
        user_id="u1",
        decision="authorize",
        granted=["meetings:read"],
        sign_in=signed_in,
    )
    code = location_params((await authorizer.decide(decided, META)).outcome)["code"]
    record, _ = await store.code(code)
    assert (record.auth_time, record.sid, record.nonce) == (int(NOW[0]), "sid-2", "n-1")


class PausedBetweenWrites:
    """The real store, with a pause between an issuance's two writes (the grant naming the new code's
    family and the code itself, in whichever order ``_issue`` makes them) while ``gate`` is closed."""

    def __init__(self, store: RedisGrantStore) -> None:
        self._store = store
        self.gate = asyncio.Event()
        self.paused = asyncio.Event()
        self._first_done = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def _second_waits(self) -> None:
        if self._first_done:
            self.paused.set()
            await self.gate.wait()
        self._first_done = not self._first_done

    async def save_grant(self, user_id: str, grant: GrantRecord) -> None:
        await self._second_waits()
        await self._store.save_grant(user_id, grant)

    async def save_code(self, signature: str, record: CodeRecord, ttl: int) -> None:
        await self._second_waits()
        await self._store.save_code(signature, record, ttl)


async def test_a_remembered_consent_stays_remembered_while_another_tab_is_issued_a_code(
    authorizer: Authorizer, real_store: RedisGrantStore
) -> None:
    """Two tabs of one user authorizing the same app at once: the second, reading the grant while the
    first has written one of its two records, still finds the consent remembered (a code, never the
    consent page again)."""
    assert "code" in location_params(await decide(authorizer))  # consented once; its code is pending
    paused = PausedBetweenWrites(real_store)
    authorizer.store = paused  # type: ignore[assignment]
    first_tab = asyncio.create_task(check(authorizer))
    await asyncio.wait_for(paused.paused.wait(), 10)
    try:
        authorizer.store = real_store
        assert "code" in location_params(await check(authorizer))
    finally:
        paused.gate.set()
    assert "code" in location_params(await first_tab)
