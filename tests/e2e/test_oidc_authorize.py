"""OpenID Connect at the authorization endpoint, through the gateway, NATS and Redis (OpenID Connect
Core 1.0 §3.1.2.1, §3.1.2.6): ``prompt``, ``max_age``, ``login_hint``, ``nonce``, ``claims``, the
parameters accepted and ignored, ``request`` / ``request_uri`` refused, ``openid`` always granted, and
what the code record keeps for the ID token (``nonce``, ``auth_time``, ``sid``, ``claims``)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import pytest

from shared.grants import keys as grant_keys
from shared.grants.records import CodeRecord
from tests.support.authorize_flow import CB, LOOPBACK, Answer, Flow, flow
from tests.support.oidc_flow import OIDC_SCOPES, date_back, session_of, sign_in_again
from tests.support.system import System

SCOPE = "openid profile email meetings:read"


@pytest.fixture
async def f(system: System) -> AsyncIterator[Flow]:
    async with flow(system, scopes=OIDC_SCOPES) as the_flow:
        yield the_flow


def code_in(answer: Answer, status: int = 302) -> str:
    assert answer.status == status, (answer.status, answer.location, answer.text[:300])
    assert answer.location.startswith(CB + "&code=mavio_code_"), answer.location
    return answer.redirect_params()["code"]


def error_in(answer: Answer, error: str) -> dict[str, str]:
    assert answer.status == 302, (answer.status, answer.text[:300])
    assert answer.location.startswith(CB + "&error="), answer.location
    params = answer.redirect_params()
    assert params["error"] == error, params
    return params


async def record_of(f: Flow, code: str) -> CodeRecord:
    [record] = [r for key, _, r in await f.codes() if key == grant_keys.code(r.family, f.signature(code))]
    return record


async def authorized(f: Flow, **params: str) -> CodeRecord:
    """Consent once (every box ticked), then the code's record."""
    page = await f.consent(scope=SCOPE, **params)
    return await record_of(f, code_in(await f.decide(page), status=303))


def login_location(answer: Answer) -> dict[str, list[str]]:
    assert answer.status == 302 and answer.location.startswith("/login?next="), answer.location
    return parse_qs(urlsplit(answer.location).query)


# ---- prompt=none ---------------------------------------------------------------------------


async def test_prompt_none_signed_out_answers_login_required_with_state_and_iss(f: Flow) -> None:
    answer = await f.get(signed_in=False, scope=SCOPE, prompt="none")
    params = error_in(answer, "login_required")
    assert params["state"] == "st-1" and params["iss"] == f.system.settings.public_url


async def test_prompt_none_signed_out_redirects_only_to_an_exact_registered_uri(f: Flow) -> None:
    # A loopback URI with another port matches for a signed-in request (RFC 8252 §7.3), but is not
    # the exact registered string: a signed-out visitor gets the error page, never a redirect.
    answer = await f.get(
        signed_in=False, scope=SCOPE, prompt="none", redirect_uri="http://127.0.0.1:4567/loopback"
    )
    assert answer.status == 400 and not answer.location
    assert "login_required" in answer.text
    assert (
        LOOPBACK in (await f.get(signed_in=False, scope=SCOPE, prompt="none", redirect_uri=LOOPBACK)).location
    )


async def test_prompt_none_signed_in_without_remembered_consent_answers_consent_required(f: Flow) -> None:
    params = error_in(await f.get(scope=SCOPE, prompt="none"), "consent_required")
    assert params["state"] == "st-1" and params["iss"] == f.system.settings.public_url
    assert await f.codes() == []


async def test_prompt_none_signed_in_with_remembered_consent_gets_a_code(f: Flow) -> None:
    first = await authorized(f)
    record = await record_of(f, code_in(await f.get(scope=SCOPE, prompt="none", nonce="n-2")))
    assert record.scope == "openid profile email meetings:read"
    assert record.nonce == "n-2" and record.sid == first.sid and record.auth_time == first.auth_time


# ---- prompt=login / select_account, max_age: a fresh sign-in ------------------------------------


@pytest.mark.parametrize("prompt", ["login", "select_account", "login consent"])
async def test_prompt_login_shows_the_sign_in_page_even_when_signed_in(f: Flow, prompt: str) -> None:
    first = await authorized(f)
    aged = await date_back(f.system, f.http, 5)  # the last sign-in was five seconds ago
    answer = await f.get(scope=SCOPE, prompt=prompt)
    login = login_location(answer)
    assert login["reauth"] == ["1"]
    back = await sign_in_again(f, answer.location)
    if "consent" in prompt:  # the consent page still comes: only the sign-in part was satisfied
        assert back.status == 200 and "Authorize Meeting Notes" in back.text
        return
    record = await record_of(f, code_in(back))
    # auth_time moves: the fresh sign-in's, strictly later than the aged session's (no real wait)
    assert record.auth_time > aged.auth_time and record.auth_time >= first.auth_time
    assert record.auth_time == (await session_of(f.system, f.http)).auth_time
    assert record.sid and record.sid != first.sid  # a new sign-in is a new session


async def test_max_age_after_the_clock_moved_two_seconds_asks_to_sign_in_again(f: Flow) -> None:
    first = await authorized(f)
    aged = await date_back(f.system, f.http, 2)  # signed in two seconds ago
    code_in(await f.get(scope=SCOPE, max_age="60"))  # recent enough
    error_in(await f.get(scope=SCOPE, max_age="1", prompt="none"), "login_required")
    answer = await f.get(scope=SCOPE, max_age="1")
    assert login_location(answer)["reauth"] == ["1"]
    record = await record_of(f, code_in(await sign_in_again(f, answer.location)))
    assert record.auth_time > aged.auth_time and record.auth_time >= first.auth_time
    assert record.sid != first.sid


async def test_max_age_must_be_a_non_negative_integer(f: Flow) -> None:
    for bad in ("-1", "soon", "1.5"):
        error_in(await f.get(scope=SCOPE, max_age=bad), "invalid_request")


async def test_login_hint_prefills_the_sign_in_email(f: Flow) -> None:
    answer = await f.get(signed_in=False, scope=SCOPE, login_hint="ada@example.com")
    assert login_location(answer)["login_hint"] == ["ada@example.com"]
    async with f.anonymous.get(f.system.url(answer.location)) as resp:
        page = await resp.text()
    assert re.search(r'<input type="email" id="email" name="email" value="ada@example.com"', page), page


# ---- parameters kept, ignored or refused -----------------------------------------------------


async def test_nonce_and_claims_reach_the_code_record_exactly(f: Flow) -> None:
    nonce = "n-0S6_WzA2Mj ünïcødé"
    claims = {"userinfo": {"email": {"essential": True}, "picture": None}, "id_token": {"name": None}}
    record = await authorized(f, nonce=nonce, claims=json.dumps(claims))
    assert record.nonce == nonce
    assert json.loads(record.claims) == {
        "userinfo": {"email": {"essential": True}},
        "id_token": {"name": None},
    }
    assert record.auth_time == (await session_of(f.system, f.http)).auth_time > 0
    assert record.sid == (await session_of(f.system, f.http)).sid


@pytest.mark.parametrize("claims", ["{not json", "[1, 2]", '{"userinfo": []}', '{"id_token": {"name": 1}}'])
async def test_a_malformed_claims_parameter_is_invalid_request(f: Flow, claims: str) -> None:
    error_in(await f.get(scope=SCOPE, claims=claims), "invalid_request")


async def test_display_locales_acr_and_unknown_parameters_are_ignored(f: Flow) -> None:
    extra = {"display": "popup", "ui_locales": "fr-CA", "claims_locales": "fr", "acr_values": "urn:x"}
    record = await authorized(f, **extra, colour="blue")
    assert record.scope == "openid profile email meetings:read"


@pytest.mark.parametrize(
    ("parameter", "error"),
    [("request", "request_not_supported"), ("request_uri", "request_uri_not_supported")],
)
async def test_request_objects_are_refused(f: Flow, parameter: str, error: str) -> None:
    value = "eyJhbGciOiJub25lIn0.e30." if parameter == "request" else "https://client.example/r/1"
    params = error_in(await f.get(scope=SCOPE, **{parameter: value}), error)
    assert params["state"] == "st-1"
    assert await f.codes() == []


async def test_openid_cannot_be_unticked(f: Flow) -> None:
    page = await f.consent(scope=SCOPE)
    assert re.search(
        r'<input type="checkbox" name="granted" value="openid" checked disabled>', page.answer.text
    )
    assert 'value="profile" checked>' in page.answer.text  # profile and email can be unticked
    code = code_in(await f.decide(page, granted=["email"]), status=303)  # the browser never posts openid
    record = await record_of(f, code)
    assert record.scope == "openid email"
    grant = await f.grant()
    assert grant is not None and grant.scope == "openid email"


async def test_openid_profile_email_are_described_in_plain_words(f: Flow) -> None:
    text = html.unescape((await f.consent(scope=SCOPE)).answer.text)
    for words in ("Sign you in to the app", "See your name", "See your email address"):
        assert words in text
