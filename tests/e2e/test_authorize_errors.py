"""``GET /oauth/authorize`` errors through the gateway, NATS and Redis (RFC 6749 §4.1.2.1, §3.1, §3.1.2;
RFC 7636 §4.3; RFC 8252 §7.3): which never redirect (HTML page, 400) and which go back to the client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, quote, urlsplit

import pytest

from shared.registry_client import RegistryClient
from tests.support.authorize_flow import CB, CHALLENGE, LOOPBACK, OTHER_CB, Answer, Flow, fetch, flow
from tests.support.factories import login_csrf
from tests.support.system import System


@pytest.fixture
async def f(system: System) -> AsyncIterator[Flow]:
    async with flow(system) as the_flow:
        yield the_flow


def assert_error_page(answer: Answer, parameter: str, *phrases: str) -> None:
    assert answer.status == 400, (answer.status, answer.location)
    assert "Location" not in answer.headers
    assert answer.headers["Content-Type"].startswith("text/html")
    assert answer.headers["Cache-Control"] == "no-store"
    assert f"<code>{parameter}</code> of this request is wrong" in answer.text
    for phrase in phrases:
        assert phrase in answer.text, phrase


def assert_redirected(
    answer: Answer, error: str, *, to: str = CB, state: str | None = "st-1"
) -> dict[str, str]:
    assert answer.status == 302, (answer.status, answer.text[:300])
    assert answer.location.startswith(to + ("&" if "?" in to else "?")), answer.location
    got = answer.redirect_params()
    assert got["error"] == error, got
    assert got.get("error_description")
    assert got.get("state") == state
    assert "code" not in got
    assert got["iss"], got  # RFC 9207: every error redirect names the issuer
    if to == CB:
        assert got["tenant"] == "acme"  # the redirect URI's own query is kept
    return got


# --- never redirect: client_id ------------------------------------------------------------------


async def test_unknown_client_id_shows_the_error_page(f: Flow) -> None:
    answer = await f.get(client_id="mavio_client_0000000000000000", signed_in=False)
    assert_error_page(answer, "client_id", "invalid_client", "does not belong to any registered application")


@pytest.mark.parametrize("signed_in", [False, True])
async def test_missing_client_id_shows_the_error_page(f: Flow, signed_in: bool) -> None:
    assert_error_page(await f.get(client_id=None, signed_in=signed_in), "client_id", "client_id is required")


async def test_repeated_client_id_shows_the_error_page(f: Flow) -> None:
    params = [*f.params().items(), ("client_id", f.client_id)]
    answer = await f.get([(k, v) for k, v in params if v is not None])
    assert_error_page(answer, "client_id", "must not be repeated")


async def test_a_deleted_app_shows_the_error_page(f: Flow) -> None:
    assert (await f.get()).status == 200  # cached by the authorize service
    await RegistryClient(f.system.bus).delete_app(f.owner.id, f.client_id)
    assert_error_page(await f.get(), "client_id", "Unknown or deleted client_id")


# --- never redirect: redirect_uri ---------------------------------------------------------------


@pytest.mark.parametrize(
    "redirect_uri",
    [
        CB + "/",  # trailing slash matters
        "https://client.example/cb/?tenant=acme",
        "https://client.example/cb",  # the registered query is part of the URI
        "https://client.example/cb?tenant=acme&x=1",
        "http://client.example/cb?tenant=acme",
        "https://CLIENT.example/cb?tenant=acme",  # no normalisation
        "https://client.example:443/cb?tenant=acme",
        "https://evil.example/cb?tenant=acme",
        CB + "#frag",
        "http://127.0.0.1:8080/other",  # loopback: any port, but the path must match
        "http://localhost:8080/loopback",  # ... and the host
    ],
)
async def test_a_mismatched_redirect_uri_shows_the_error_page(f: Flow, redirect_uri: str) -> None:
    answer = await f.get(redirect_uri=redirect_uri, signed_in=False)
    assert_error_page(answer, "redirect_uri", "must exactly match one of the redirect URIs registered")


async def test_a_mismatched_redirect_uri_is_refused_before_anything_else(f: Flow) -> None:
    answer = await f.get(redirect_uri="https://evil.example/", response_type="token", scope="nope")
    assert_error_page(answer, "redirect_uri")


async def test_an_omitted_redirect_uri_needs_a_single_registered_one(f: Flow) -> None:
    answer = await f.get(redirect_uri=None)
    assert_error_page(answer, "redirect_uri", "several registered redirect URIs")


async def test_a_repeated_redirect_uri_shows_the_error_page(f: Flow) -> None:
    params = [(k, v) for k, v in f.params().items() if v is not None] + [("redirect_uri", CB)]
    assert_error_page(await f.get(params), "redirect_uri", "must not be repeated")


async def test_an_omitted_redirect_uri_uses_the_only_registered_one(system: System) -> None:
    async with flow(system, redirect_uris=[CB]) as one:
        page = await one.consent(redirect_uri=None)
        assert "redirect_uri" not in page.fields
        assert_redirected(
            await one.get(redirect_uri=None, response_type="token"), "unsupported_response_type"
        )
        answer = await one.decide(page)
        assert answer.status == 303 and answer.location.startswith(CB + "&code=")
        [(_, _, record)] = await one.codes()
        assert record.redirect_uri == CB and record.redirect_uri_given is False


async def test_a_loopback_redirect_uri_accepts_any_port(f: Flow) -> None:
    uri = "http://127.0.0.1:53123/loopback"
    page = await f.consent(redirect_uri=uri)
    assert (await f.decide(page)).location.startswith(uri + "?code=mavio_code_")
    assert_redirected(await f.get(redirect_uri=uri, scope="nope:read"), "invalid_scope", to=uri)
    assert (await f.get(redirect_uri=LOOPBACK, prompt="consent")).status == 200
    assert (await f.get(redirect_uri=OTHER_CB, prompt="consent")).status == 200


# --- redirected: everything that needs no user, checked before sign-in ---------------------------


@pytest.mark.parametrize(
    ("overrides", "error", "phrase"),
    [
        ({"response_type": None}, "invalid_request", "response_type is required"),
        ({"response_type": "token"}, "unsupported_response_type", "response_type must be code"),
        ({"response_type": "code token"}, "unsupported_response_type", "response_type must be code"),
        ({"code_challenge_method": "plain"}, "invalid_request", "only S256"),
        ({"code_challenge_method": None}, "invalid_request", "code_challenge_method is required"),
        ({"code_challenge": None}, "invalid_request", "without code_challenge"),
        ({"code_challenge": CHALLENGE[:42]}, "invalid_request", "code_challenge"),
        ({"code_challenge": CHALLENGE + "A"}, "invalid_request", "exactly 43"),
        ({"code_challenge": CHALLENGE[:42] + "="}, "invalid_request", "code_challenge"),
        ({"scope": None}, "invalid_scope", "scope is required"),
        ({"scope": "meetings:read nope:read"}, "invalid_scope", "a scope that does not exist"),
        ({"scope": "users:read"}, "invalid_scope", "users:read was not approved"),
        ({"scope": 'meetings:read "quoted"'}, "invalid_scope", "malformed"),
    ],
)
async def test_request_errors_redirect_with_state(
    f: Flow, overrides: dict[str, str | None], error: str, phrase: str
) -> None:
    got = assert_redirected(await f.get(**overrides), error)
    assert phrase in got["error_description"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"response_type": "token"},
        {"response_type": "<script>alert(1)</script> call 555-0100 for support"},
        {"scope": "meetings:read Visit-evil.example-to-claim-a-prize"},
        {"code_challenge_method": "plain"},
    ],
)
async def test_an_anonymous_malformed_request_gets_an_error_page_not_a_redirect(
    f: Flow, overrides: dict[str, str]
) -> None:
    """RFC 9700 §4.11.2: a link anyone can craft never bounces a visitor to the app's URI, and the
    page never repeats the request's text."""
    answer = await f.get(signed_in=False, **overrides)
    assert answer.status == 400 and not answer.location
    assert "Invalid authorization request" in answer.text
    for value in overrides.values():
        assert value not in answer.text and "evil.example" not in answer.text


@pytest.mark.parametrize(
    "name", ["response_type", "scope", "state", "code_challenge", "code_challenge_method"]
)
async def test_a_repeated_parameter_is_invalid_request(f: Flow, name: str) -> None:
    params = [(k, v) for k, v in f.params().items() if v is not None]
    params.append((name, dict(params)[name]))
    state = None if name == "state" else "st-1"  # a repeated state is not echoed
    got = assert_redirected(await f.get(params), "invalid_request", state=state)
    assert f"{name} must not be repeated" in got["error_description"]


async def test_state_is_echoed_exactly(f: Flow) -> None:
    state = "a b+c&d=e/é?%"
    assert_redirected(
        await f.get(response_type="token", state=state), "unsupported_response_type", state=state
    )


async def test_no_state_no_state_in_the_error(f: Flow) -> None:
    assert_redirected(await f.get(response_type="token", state=None), "unsupported_response_type", state=None)


# --- sign-in, then the plan -----------------------------------------------------------------------


def request_of(path_qs: str) -> tuple[str, list[tuple[str, str]]]:
    parts = urlsplit(path_qs)
    return parts.path, parse_qsl(parts.query)


async def test_not_signed_in_goes_to_login_with_the_request_as_next(f: Flow) -> None:
    answer = await f.get(signed_in=False)
    assert answer.status == 302
    login = urlsplit(answer.location)
    assert login.path == "/login"
    [(name, next_url)] = parse_qsl(login.query)
    assert name == "next"
    expected = [(k, v) for k, v in f.params().items() if v is not None]
    assert request_of(next_url) == ("/oauth/authorize", expected)


async def test_login_round_trip_comes_back_to_the_consent_page(f: Flow) -> None:
    answer = await f.get(signed_in=False)
    login_path = answer.location
    token = await login_csrf(f.system, f.anonymous, login_path)
    data = {"csrf_token": token, "email": f.user.email, "password": "correct horse battery staple"}
    async with f.anonymous.post(f.system.url(login_path), data=data, allow_redirects=False) as resp:
        assert resp.status == 303
        back = resp.headers["Location"]
    expected = [(k, v) for k, v in f.params().items() if v is not None]
    assert request_of(back) == ("/oauth/authorize", expected)
    page = await fetch(f.anonymous, f.system.url(back))
    assert page.status == 200 and "Authorize Meeting Notes" in page.text


async def test_the_plan_check_comes_after_sign_in(system: System) -> None:
    async with flow(system, plan="free") as free:
        answer = await free.get(scope="meetings:read recordings:read", signed_in=False)
        assert answer.status == 302 and answer.location.startswith("/login?next=")
        got = assert_redirected(await free.get(scope="meetings:read recordings:read"), "invalid_scope")
        assert "recordings:read" in got["error_description"]
        assert "free" not in got["error_description"]  # the client is never told the user's plan
        assert not await free.codes()


async def test_a_plan_that_includes_the_scope_gets_the_consent_page(system: System) -> None:
    async with flow(system, plan="pro") as pro:
        page = await pro.consent(scope="recordings:read")
        assert page.scopes == ["recordings:read"]


async def test_plus_in_the_query_is_a_space(f: Flow) -> None:
    path = f"/oauth/authorize?client_id={f.client_id}&response_type=code&scope=transcripts:read+meetings:read"
    path += f"&redirect_uri={quote(CB, safe='')}&state=s"
    answer = await fetch(f.http, f.system.url(path))
    assert answer.status == 200
    assert "View your meetings and their details" in answer.text
    assert "Read your meeting transcripts" in answer.text
