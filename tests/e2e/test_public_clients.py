"""Public clients (RFC 6749 §2.1; RFC 8252; RFC 9700 §2.1.1) end to end through the gateway: Authlib's
code flow with PKCE, a loopback redirect and ``client_id`` alone; what a public app is refused (no PKCE, a
secret, introspection) and what works for it (revocation, refresh rotation with reuse detection); and a
confidential app still refused without its secret."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client

from tests.support.authorize_flow import CHALLENGE, VERIFIER, flow
from tests.support.system import System, running_system
from tests.support.token_flow import (
    Party,
    approve,
    bus_verify,
    exchange,
    new_party,
    refresh,
    seed_code,
    token_request,
)

SCOPE = "meetings:read users:read"
LOOPBACK = "http://127.0.0.1/callback"
NATIVE = "com.example.meetings:/oauth/callback"


async def public_party(system: System) -> Party:
    party = await new_party(system, client_type="public", redirect_uris=[LOOPBACK, NATIVE])
    assert party.secret == "" and party.app.client_type == "public"
    return party


async def public_tokens(system: System, party: Party) -> dict[str, Any]:
    code = await seed_code(system, party, challenge=CHALLENGE)
    status, _, body = await exchange(system, party, code, code_verifier=VERIFIER)
    assert status == 200, body
    return body


async def test_authlib_code_flow_as_a_public_client_with_pkce_and_a_loopback_redirect(system: System) -> None:
    party = await public_party(system)
    redirect_uri = "http://127.0.0.1:53117/callback"  # any port on loopback (RFC 8252 §7.3)
    client = AsyncOAuth2Client(
        client_id=party.client_id,
        scope=SCOPE,
        redirect_uri=redirect_uri,
        token_endpoint_auth_method="none",
        code_challenge_method="S256",
    )
    async with client:
        verifier = generate_token(64)
        url, state = client.create_authorization_url(system.url("/oauth/authorize"), code_verifier=verifier)
        location = await approve(system, party, url)
        assert location.startswith(redirect_uri + "?code=")
        token = await client.fetch_token(
            system.url("/oauth/token"), authorization_response=location, state=state, code_verifier=verifier
        )
        assert token["token_type"] == "Bearer" and token["scope"] == SCOPE
        info = await bus_verify(system, token["access_token"])
        assert (
            info["active"] is True and info["client_id"] == party.client_id and info["sub"] == party.user.id
        )
        renewed = await client.refresh_token(system.url("/oauth/token"), refresh_token=token["refresh_token"])
        assert renewed["refresh_token"] != token["refresh_token"]
        assert (await bus_verify(system, renewed["access_token"]))["active"] is True


async def test_a_private_use_redirect_gets_the_code(system: System) -> None:
    """RFC 8252 §7.1: the consent page lets its form lead to the app's scheme, and the code goes there."""
    async with flow(system, client_type="public", redirect_uris=[NATIVE]) as f:
        page = await f.consent(redirect_uri=NATIVE)
        assert "form-action 'self' com.example.meetings:;" in page.answer.headers["Content-Security-Policy"]
        answer = await f.decide(page)
        assert answer.status == 303 and answer.location.startswith(NATIVE + "?code=")
        [(_, _, record)] = await f.codes()
        assert record.redirect_uri == NATIVE and record.code_challenge == CHALLENGE


async def test_a_public_client_is_refused_without_pkce(system: System) -> None:
    async with flow(system, client_type="public", redirect_uris=[LOOPBACK]) as f:
        for missing in (None, ""):
            answer = await f.get(redirect_uri=LOOPBACK, code_challenge=missing, code_challenge_method=missing)
            assert answer.status == 302 and answer.location.startswith(LOOPBACK + "?error=invalid_request")
            got = answer.redirect_params()
            assert "public client must use PKCE" in got["error_description"] and "code" not in got
        assert await f.codes() == []
    party = await public_party(system)
    code = await seed_code(system, party, challenge=CHALLENGE)
    status, _, body = await exchange(system, party, code)  # no code_verifier
    assert (
        status == 400 and body["error"] == "invalid_request" and "code_verifier" in body["error_description"]
    )
    status, _, body = await exchange(system, party, code, code_verifier=VERIFIER)
    assert status == 200, body  # the refusal did not consume the code
    unbound = await seed_code(system, party)  # a code without a challenge (never issued to a public app)
    status, _, body = await exchange(system, party, unbound)
    assert status == 400 and body["error"] == "invalid_request"


@pytest.mark.parametrize("basic", [False, True])
async def test_a_public_client_that_presents_a_secret_is_refused(system: System, basic: bool) -> None:
    party = await public_party(system)
    code = await seed_code(system, party, challenge=CHALLENGE)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": VERIFIER,
        "redirect_uri": LOOPBACK,
    }
    liar = Party(party.app, "mavio_cs_made_up_secret", party.user, party.owner)
    headers = liar.basic_header() if basic else None
    sent = form if basic else {**form, **liar.post_auth()}
    status, resp_headers, body = await token_request(system, sent, headers=headers)
    assert status == 401 and body["error"] == "invalid_client"
    assert resp_headers.get("WWW-Authenticate", "").startswith("Basic") is basic
    status, _, body = await exchange(system, party, code, code_verifier=VERIFIER)
    assert status == 200, body  # the code was not consumed by the refused request


async def test_a_confidential_client_is_refused_without_its_secret(system: System) -> None:
    party = await new_party(system)
    assert party.app.client_type == "confidential" and party.secret
    code = await seed_code(system, party)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": party.redirect_uri}
    status, headers, body = await token_request(system, {**form, "client_id": party.client_id})
    assert status == 401 and body["error"] == "invalid_client" and "WWW-Authenticate" not in headers
    status, _, body = await exchange(system, party, code)
    assert status == 200, body


async def test_introspection_is_refused_for_a_public_client(system: System) -> None:
    party = await public_party(system)
    pair = await public_tokens(system, party)
    form = {"token": pair["access_token"], "client_id": party.client_id}
    status, _, body = await token_request(system, form, path="/oauth/introspect")
    assert status == 401 and body["error"] == "invalid_client"
    assert "token" not in body and "active" not in body


async def test_revocation_with_client_id_alone(system: System) -> None:
    party = await public_party(system)
    pair = await public_tokens(system, party)
    form = {"token": pair["access_token"], **party.post_auth()}
    status, _, _ = await token_request(system, form, path="/oauth/revoke")
    assert status == 200
    assert await bus_verify(system, pair["access_token"]) == {"active": False}
    form = {"token": pair["refresh_token"], "token_type_hint": "refresh_token", **party.post_auth()}
    status, _, _ = await token_request(system, form, path="/oauth/revoke")
    assert status == 200
    status, _, body = await refresh(system, party, pair["refresh_token"])
    assert status == 400 and body["error"] == "invalid_grant"
    other = await public_party(system)  # another public app cannot revoke this one's tokens
    fresh = await public_tokens(system, party)
    status, _, body = await token_request(
        system, {"token": fresh["access_token"], **other.post_auth()}, path="/oauth/revoke"
    )
    assert (status, body["error"]) == (400, "unauthorized_client")
    assert (await bus_verify(system, fresh["access_token"]))["active"] is True


@pytest.fixture(scope="module")
async def no_window() -> AsyncIterator[System]:
    """No refresh replay window: any second use of a rotated refresh token is a reuse."""
    async with running_system({"MAVIO_REFRESH_REPLAY_WINDOW": "0"}) as sut:
        yield sut


async def test_a_reused_public_refresh_token_revokes_the_grant(no_window: System) -> None:
    system = no_window
    party = await public_party(system)
    first = await public_tokens(system, party)
    status, _, second = await refresh(system, party, first["refresh_token"])
    assert status == 200 and second["refresh_token"] != first["refresh_token"]
    status, _, third = await refresh(system, party, second["refresh_token"])
    assert status == 200
    status, _, body = await refresh(system, party, first["refresh_token"])  # the rotated one, again
    assert status == 400 and body["error"] == "invalid_grant"
    for token in (third["access_token"], second["access_token"]):
        assert await bus_verify(system, token) == {"active": False}
    status, _, body = await refresh(system, party, third["refresh_token"])
    assert status == 400 and body["error"] == "invalid_grant"


async def test_the_metadata_names_none_for_token_and_revocation_only(system: System) -> None:
    async with system.http.get(system.url("/.well-known/oauth-authorization-server")) as resp:
        meta = await resp.json()
    assert "none" in meta["token_endpoint_auth_methods_supported"]
    assert "none" in meta["revocation_endpoint_auth_methods_supported"]
    assert "none" not in meta["introspection_endpoint_auth_methods_supported"]
    assert set(meta["token_endpoint_auth_methods_supported"]) >= {"client_secret_basic", "client_secret_post"}
