"""The consent page and the decision through the gateway, NATS and Redis (RFC 6749 §4.1.2, §10.12,
§10.13; RFC 7636; RFC 9700 §4.5, §4.7): authorize, partial grant, deny, CSRF, clickjacking, code TTL."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, urlsplit

import msgspec
import pytest

from shared import keys
from shared.grants import keys as grant_keys
from shared.grants.records import CodeRecord
from shared.messages.registry import UpdateAppRequest
from shared.registry_client import RegistryClient
from tests.support.authorize_flow import (
    CB,
    CHALLENGE,
    OTHER_CB,
    Answer,
    Flow,
    flow,
    post_form,
)
from tests.support.factories import csrf_of, image_bytes, new_http, sign_in, signed_in_client
from tests.support.polling import eventually
from tests.support.system import System, running_system


@pytest.fixture
async def f(system: System) -> AsyncIterator[Flow]:
    async with flow(system) as the_flow:
        yield the_flow


def code_of(answer: Answer, *, state: str | None = "st-1") -> str:
    assert answer.status == 303, (answer.status, answer.text[:300])
    assert answer.location.startswith(CB + "&code=mavio_code_"), answer.location
    got = answer.redirect_params()
    assert got.get("state") == state and got["tenant"] == "acme"
    assert (
        set(got) <= {"code", "state", "tenant", "iss"} and "iss" in got
    )  # RFC 9207: tests/e2e/test_issuer.py
    return got["code"]


async def assert_nothing_issued(f: Flow) -> None:
    assert await f.codes() == []
    assert await f.grant() is None


# --- the page -------------------------------------------------------------------------------------


async def test_the_consent_page_shows_the_app_and_each_scope(f: Flow) -> None:
    page = await f.consent()
    text = page.answer.text
    for shown in (
        "Authorize Meeting Notes",
        "Turns your meetings into notes.",
        'href="https://notes.example/home"',
        "by Olga Owner",
        "View your meetings and their details",
        "Read your meeting transcripts",
    ):
        assert shown in text, shown
    assert page.checkboxes == [("meetings:read", True), ("transcripts:read", True)]
    assert page.buttons == [("decision", "authorize"), ("decision", "deny")]
    assert re.search(r"<button[^>]*>Authorize</button>", text) and re.search(
        r"<button[^>]*>Deny</button>", text
    )
    assert "/static/app-placeholder.svg" in page.resources
    assert set(page.fields) == {"consent_token", "return_to"}  # the request itself stays in the service
    back = urlsplit(page.fields["return_to"])
    assert back.path == "/oauth/authorize" and dict(parse_qsl(back.query)) == f.params()


async def test_the_placeholder_logo_is_served_locally(f: Flow) -> None:
    async with f.http.get(f.system.url("/static/app-placeholder.svg")) as resp:
        assert resp.status == 200 and resp.content_type == "image/svg+xml"


async def test_an_app_with_a_logo_shows_it(system: System) -> None:
    async with flow(system, logo=image_bytes()) as with_logo:
        page = await with_logo.consent()
        [logo] = [src for src in page.resources if "/logo.png" in src]
        assert logo.startswith(f"/oauth/apps/{with_logo.client_id}/logo.png")
        async with with_logo.http.get(system.url(logo)) as resp:
            assert resp.status == 200 and resp.content_type == "image/png"


async def test_the_page_cannot_be_framed_and_loads_nothing_third_party(f: Flow) -> None:
    page = await f.consent()
    headers = page.answer.headers
    assert headers["X-Frame-Options"] == "DENY"
    csp = {
        part.split(" ", 1)[0]: part
        for part in (p.strip() for p in headers["Content-Security-Policy"].split(";"))
    }
    assert csp["frame-ancestors"] == "frame-ancestors 'none'"
    assert csp["default-src"] == "default-src 'none'"
    assert csp["img-src"] == "img-src 'self'" and csp["style-src"] == "style-src 'self'"
    assert csp["form-action"] == "form-action 'self' https://client.example"
    assert headers["Cache-Control"] == "no-store" and headers["Referrer-Policy"] == "no-referrer"
    assert page.resources and all(src.startswith("/") and not src.startswith("//") for src in page.resources)
    assert "<script" not in page.answer.text and "style=" not in page.answer.text


async def test_prompt_consent_shows_the_whole_page_to_a_user_who_already_granted_the_app(f: Flow) -> None:
    code_of(await f.decide(await f.consent()))
    page = await f.consent(prompt="consent")
    assert page.checkboxes == [("meetings:read", True), ("transcripts:read", True)]
    assert 'id="remembered-scopes"' not in page.answer.text


# --- decisions ------------------------------------------------------------------------------------


async def test_authorize_redirects_with_a_code_bound_to_the_request(f: Flow) -> None:
    page = await f.consent()
    answer = await f.decide(page)
    assert answer.headers["Cache-Control"] == "no-store"
    code = code_of(answer)
    [(key, ttl, record)] = await f.codes()
    assert key == grant_keys.code(record.family, f.signature(code))
    assert 0 < ttl <= f.system.settings.code_ttl
    assert record.client_id == f.client_id and record.user_id == f.user.id
    assert record.redirect_uri == CB and record.redirect_uri_given is True
    assert record.scope == "meetings:read transcripts:read"
    assert (record.code_challenge, record.code_challenge_method) == (CHALLENGE, "S256")
    assert record.expires_at - record.issued_at == f.system.settings.code_ttl
    raw = await f.system.redis.get(key)
    assert code.encode() not in raw and code.encode() not in key.encode()
    grant = await f.grant()
    assert grant is not None and grant.scope == "meetings:read transcripts:read"


async def test_without_pkce_the_code_carries_no_challenge(f: Flow) -> None:
    page = await f.consent(code_challenge=None, code_challenge_method=None)
    assert "code_challenge" not in page.fields
    code_of(await f.decide(page))
    [(_, _, record)] = await f.codes()
    assert record.code_challenge is None and record.code_challenge_method is None


async def test_a_partial_grant_carries_only_the_ticked_scopes(f: Flow) -> None:
    code_of(await f.decide(await f.consent()))
    code = code_of(await f.decide(await f.consent(prompt="consent"), granted=["transcripts:read"]))
    records = {key: record for key, _, record in await f.codes()}
    assert len(records) == 2
    [record] = [r for k, r in records.items() if k == grant_keys.code(r.family, f.signature(code))]
    assert record.scope == "transcripts:read"
    grant = await f.grant()
    assert grant is not None and grant.scope == "transcripts:read"  # the unticked scope is dropped


async def test_unticking_everything_shows_the_page_again_and_issues_nothing(f: Flow) -> None:
    answer = await f.decide(await f.consent(), granted=[])
    assert answer.status == 200 and "Location" not in answer.headers
    assert "Tick at least one permission" in answer.text
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert "Authorize Meeting Notes" in answer.text and "consent_token" in answer.text
    await assert_nothing_issued(f)


async def test_deny_redirects_with_access_denied_and_state(f: Flow) -> None:
    answer = await f.decide(await f.consent(state="keep-me"), "deny")
    assert answer.status == 303 and answer.location.startswith(CB + "&error=access_denied")
    got = answer.redirect_params()
    assert got["error"] == "access_denied" and got["state"] == "keep-me" and "code" not in got
    await assert_nothing_issued(f)


async def test_a_scope_that_was_not_requested_cannot_be_granted(f: Flow) -> None:
    answer = await f.decide(await f.consent(), granted=["meetings:read", "recordings:read"])
    assert answer.status == 303 and answer.redirect_params()["error"] == "invalid_scope"
    await assert_nothing_issued(f)


async def test_a_decision_must_be_authorize_or_deny(f: Flow) -> None:
    page = await f.consent()
    for decision in (None, "maybe"):
        answer = await f.decide(page, decision)
        assert answer.status == 400 and "Location" not in answer.headers
    await assert_nothing_issued(f)


# --- one decision per page, bound to the session and to the request the service checked -------------


@pytest.mark.parametrize("token", [None, "0" * 64, "", "x" * 500])
async def test_a_forged_decision_is_refused(f: Flow, token: str | None) -> None:
    answer = await f.decide(await f.consent(), consent_token=token)
    assert answer.status == 403 and "Location" not in answer.headers
    assert "Nothing was authorized" in answer.text
    await assert_nothing_issued(f)


async def test_the_same_decision_posted_three_times_issues_one_code(f: Flow) -> None:
    page = await f.consent()
    answers = [await f.decide(page) for _ in range(3)]
    code_of(answers[0])
    assert [a.status for a in answers[1:]] == [403, 403]
    assert len(await f.codes()) == 1


async def test_racing_posts_of_one_page_issue_one_code(f: Flow) -> None:
    page = await f.consent()
    answers = await asyncio.gather(*(f.decide(page) for _ in range(8)))
    assert sorted(a.status for a in answers) == [303] + [403] * 7
    assert len(await f.codes()) == 1


async def test_a_denied_page_cannot_then_authorize(f: Flow) -> None:
    page = await f.consent()
    assert (await f.decide(page, "deny")).status == 303
    assert (await f.decide(page)).status == 403
    await assert_nothing_issued(f)


async def test_parameters_added_to_the_form_change_nothing(system: System) -> None:
    """A page for a request without state, PKCE or redirect_uri, posted with them appended (empty first
    values, then others): the code is for the request as shown, nothing else."""
    async with flow(system, redirect_uris=[CB]) as one:
        page = await one.consent(
            redirect_uri=None, state=None, code_challenge=None, code_challenge_method=None
        )
        injected = [
            ("state", ""),
            ("state", "INJECTED"),
            ("code_challenge", ""),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", ""),
            ("code_challenge_method", "S256"),
            ("redirect_uri", ""),
            ("redirect_uri", CB),
            ("scope", "recordings:read"),
        ]
        form = [*page.hidden, *injected, *[("granted", s) for s in page.scopes], ("decision", "authorize")]
        answer = await post_form(one.http, system.url("/oauth/authorize"), form)
        assert answer.status == 303 and "INJECTED" not in answer.location
        assert set(answer.redirect_params()) == {"code", "tenant", "iss"}
        [(_, _, record)] = await one.codes()
        assert record.code_challenge is None and record.code_challenge_method is None
        assert record.redirect_uri == CB and record.redirect_uri_given is False
        assert record.scope == "meetings:read transcripts:read"
        assert (await post_form(one.http, system.url("/oauth/authorize"), form)).status == 403


async def test_a_page_decides_the_request_it_showed(f: Flow) -> None:
    other = await f.consent(state="other-request")
    page = await f.consent()
    answer = await f.decide(page, consent_token=other.token)  # the other page's id: the other request
    assert answer.redirect_params()["state"] == "other-request"
    assert (await f.decide(page)).status == 403  # decided: the app's other open pages are void
    assert len(await f.codes()) == 1


async def test_a_page_shown_before_the_user_revoked_the_app_issues_nothing(system: System, f: Flow) -> None:
    code_of(await f.decide(first := await f.consent()))
    page = await f.consent(prompt="consent")  # the grant is live: only an explicit prompt shows a page
    before = await f.codes()  # the first code (its family is tombstoned by the revocation)
    async with f.http.get(system.url("/settings/connected-apps")) as resp:
        form = [("csrf_token", csrf_of(await resp.text()))]
    revoke = system.url(f"/settings/connected-apps/{f.client_id}/revoke")
    assert (await post_form(f.http, revoke, form)).status == 303
    assert await f.grant() is None
    for stale in (page, first):
        assert (await f.decide(stale)).status == 403
    assert await f.grant() is None
    assert await f.codes() == before


async def test_a_stale_page_is_refused() -> None:
    async with running_system({"MAVIO_CONSENT_TTL": "1"}) as short, flow(short) as f:
        page = await f.consent()

        async def open_pages() -> list[bytes]:
            return [k async for k in short.redis.scan_iter(match=keys.consent_page(f.user.id, "*"))]

        await eventually(open_pages, lambda found: not found)  # the page lives 1 s
        assert (await f.decide(page)).status == 403
        await assert_nothing_issued(f)
        code_of(await f.decide(await f.consent()))  # a fresh page works


async def test_over_the_cap_of_open_pages_the_oldest_are_refused(system: System, f: Flow) -> None:
    """Issue 22: each page is its own key, and a user holds at most ``MAVIO_CONSENT_PAGES_MAX`` open
    pages (each with a 2 KB ``state`` here): the oldest go, the newest still decide."""
    cap = system.settings.consent_pages_max
    pages = [await f.consent(state=f"s{i}-" + "x" * 2000) for i in range(cap + 2)]
    for oldest in pages[:2]:
        assert (await f.decide(oldest)).status == 403
    await assert_nothing_issued(f)
    stored = [k async for k in system.redis.scan_iter(match=keys.consent_page(f.user.id, "*"))]
    assert len(stored) == cap
    code_of(await f.decide(pages[2]), state="s2-" + "x" * 2000)


async def test_a_token_from_another_session_is_refused(system: System, f: Flow) -> None:
    page = await f.consent()
    http, _ = await signed_in_client(system)
    async with http:
        answer = await f.decide(page, http=http)  # the attacker's own session, the victim's token
        assert answer.status == 403
        async with new_http() as again:  # the same user, a new session: a new CSRF secret
            await sign_in(system, again, f.user.email)
            assert (await f.decide(page, http=again)).status == 403
    await assert_nothing_issued(f)


async def test_a_decision_without_a_session_goes_to_login_and_issues_nothing(f: Flow) -> None:
    page = await f.consent()
    answer = await f.decide(page, http=f.anonymous)
    assert answer.status == 302 and answer.location.startswith("/login?next=%2Foauth%2Fauthorize%3F")
    await assert_nothing_issued(f)


# --- re-validated at decision time ------------------------------------------------------------------


async def test_an_app_deleted_while_the_page_was_open_gets_the_error_page(f: Flow) -> None:
    page = await f.consent()
    await RegistryClient(f.system.bus).delete_app(f.owner.id, f.client_id)
    answer = await f.decide(page)
    assert answer.status == 400 and "Location" not in answer.headers
    assert "<code>client_id</code> of this request is wrong" in answer.text
    await assert_nothing_issued(f)


async def test_a_scope_withdrawn_while_the_page_was_open_is_refused(f: Flow) -> None:
    page = await f.consent()
    update = UpdateAppRequest(user_id=f.owner.id, client_id=f.client_id, scopes=["meetings:read"])
    await RegistryClient(f.system.bus).update_app(update)
    answer = await f.decide(page)
    assert answer.status == 303 and answer.redirect_params()["error"] == "invalid_scope"
    await assert_nothing_issued(f)


async def test_a_redirect_uri_removed_while_the_page_was_open_gets_the_error_page(f: Flow) -> None:
    page = await f.consent()
    update = UpdateAppRequest(user_id=f.owner.id, client_id=f.client_id, redirect_uris=[OTHER_CB])
    await RegistryClient(f.system.bus).update_app(update)
    answer = await f.decide(page)
    assert answer.status == 400 and "<code>redirect_uri</code> of this request is wrong" in answer.text
    await assert_nothing_issued(f)


# --- code lifetime -----------------------------------------------------------------------------------


async def test_a_code_expires_after_the_configured_ttl() -> None:
    async with running_system({"MAVIO_CODE_TTL": "1"}) as short, flow(short) as f:
        code = code_of(await f.decide(await f.consent()))
        [(key, ttl, record)] = await f.codes()
        assert ttl == 1 and record.expires_at - record.issued_at == 1
        raw = await short.redis.get(key)
        assert raw is not None and code.encode() not in raw
        assert msgspec.json.decode(raw, type=CodeRecord) == record
        deadline = asyncio.get_running_loop().time() + 5
        while await short.redis.exists(key):
            assert asyncio.get_running_loop().time() < deadline, "the code outlived its TTL"
            await asyncio.sleep(0.1)
        assert await f.codes() == []
