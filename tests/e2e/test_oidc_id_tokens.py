"""ID tokens at the token endpoint (OpenID Connect Core 1.0 §3.1.3.3, §3.1.3.6, §12.2), checked by a
relying party's own code: Authlib's ``CodeIDToken`` against the JWKS fetched from ``jwks_uri``, for an
RS256 app and an ES256 app; the nonce, auth_time and sid of the code reach it; a refresh gives a fresh
one for the same sign-in; a code used twice is still refused and revokes what it gave."""

from __future__ import annotations

import json
import secrets
import time

import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jws

from tests.support.device_flow import decide, enter_code, poll, signed_in, started
from tests.support.oidc import OIDC_SCOPES, fetch_jwks, oidc_party, save_oidc_code, validated
from tests.support.oidc_flow import date_back, session_of
from tests.support.system import System
from tests.support.token_flow import approve, bus_verify, exchange, new_party, refresh, tokens_for


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
async def test_code_exchange_through_authorize_gives_an_id_token_authlib_validates(
    system: System, alg: str
) -> None:
    party = await oidc_party(system, alg=alg)
    scope = " ".join(OIDC_SCOPES)
    client = AsyncOAuth2Client(
        client_id=party.client_id,
        client_secret=party.secret,
        scope=scope,
        redirect_uri=party.redirect_uri,
        code_challenge_method="S256",
    )
    async with client:
        verifier = generate_token(64)
        url, state = client.create_authorization_url(system.url("/oauth/authorize"), code_verifier=verifier)
        location = await approve(system, party, url)
        token = await client.fetch_token(
            system.url("/oauth/token"), authorization_response=location, state=state, code_verifier=verifier
        )
    claims = await validated(system, party, dict(token))
    header = jws.extract_compact(token["id_token"].encode()).protected
    published = {k["kid"]: k for k in (await fetch_jwks(system))["keys"]}
    assert header["alg"] == alg and published[header["kid"]]["alg"] == alg
    info = await bus_verify(system, token["access_token"])
    assert claims["sub"] == info["sub"] == party.user.id  # the sub introspection gives; never the email
    assert claims["aud"] == party.client_id and claims["iss"] == system.settings.public_url
    assert claims["exp"] - claims["iat"] == system.settings.id_token_lifetime
    assert "nonce" not in claims and "email" not in claims  # none sent; user claims are UserInfo's
    assert claims["at_hash"]  # CodeIDToken checked it against the access token


async def test_nonce_auth_time_and_sid_of_the_code_reach_the_id_token_and_refresh_keeps_them(
    system: System,
) -> None:
    party = await oidc_party(system)
    nonce, sid, auth_time = secrets.token_urlsafe(16), secrets.token_urlsafe(12), int(time.time()) - 30
    code = await save_oidc_code(system, party, nonce=nonce, auth_time=auth_time, sid=sid)
    status, _, token = await exchange(system, party, code)
    assert status == 200, token
    first = await validated(system, party, token, nonce=nonce)
    assert (first["nonce"], first["auth_time"], first["sid"]) == (nonce, auth_time, sid)

    status, _, renewed = await refresh(system, party, token["refresh_token"])
    assert status == 200, renewed
    second = await validated(system, party, renewed)  # at_hash: of the new access token
    assert (second["sub"], second["auth_time"], second["sid"]) == (party.user.id, auth_time, sid)
    assert "nonce" not in second
    assert second["iat"] >= first["iat"] and second["at_hash"] != first["at_hash"]


async def test_a_nonce_that_does_not_match_fails_the_relying_partys_check(system: System) -> None:
    party = await oidc_party(system)
    status, _, token = await exchange(system, party, await save_oidc_code(system, party, nonce="n-1"))
    assert status == 200
    with pytest.raises(Exception, match="nonce"):
        await validated(system, party, token, nonce="n-2")


async def test_the_claims_request_asks_user_claims_into_the_id_token_within_the_scope(system: System) -> None:
    party = await oidc_party(system)
    asked = json.dumps({"id_token": {"name": None, "email": {"essential": True}, "email_verified": None}})
    code = await save_oidc_code(system, party, scope="openid email", claims=asked)
    status, _, token = await exchange(system, party, code)
    assert status == 200
    claims = await validated(system, party, token)
    assert claims["email"] == party.user.email and claims["email_verified"] is False
    assert "name" not in claims  # asked, but the scope (what the user consented to) has no profile


async def test_no_id_token_without_openid_and_none_after_narrowing_it_away(system: System) -> None:
    party = await oidc_party(system)
    plain = await tokens_for(system, party, scope="meetings:read")
    assert "id_token" not in plain
    status, _, token = await exchange(
        system, party, await save_oidc_code(system, party, scope="openid meetings:read")
    )
    assert status == 200 and "id_token" in token
    status, _, narrowed = await refresh(system, party, token["refresh_token"], scope="meetings:read")
    assert status == 200 and narrowed["scope"] == "meetings:read" and "id_token" not in narrowed


async def test_a_code_used_twice_is_refused_and_revokes_its_tokens(system: System) -> None:
    party = await oidc_party(system)
    code = await save_oidc_code(system, party, nonce="once")
    status, _, token = await exchange(system, party, code)
    assert status == 200 and token["id_token"]
    status, _, again = await exchange(system, party, code)
    assert status == 400 and again["error"] == "invalid_grant" and "id_token" not in again
    assert (await bus_verify(system, token["access_token"]))["active"] is False
    status, _, _ = await refresh(system, party, token["refresh_token"])
    assert status == 400


async def test_the_device_grant_gives_an_id_token_with_the_sign_in_of_the_approving_session(
    system: System,
) -> None:
    """RFC 8628 with ``openid``: the ID token carries the session's last actual sign-in (not when the
    session began) and its ``sid``, and no ``nonce`` (a device request sends none)."""
    party = await new_party(system, scopes=OIDC_SCOPES, device_flow=True)
    body = await started(system, party, "openid profile")
    async with await signed_in(system, party) as http:
        aged = await date_back(system, http, 90)  # the last sign-in: 90 s before the session's start
        status, page = await enter_code(system, http, body["user_code"])
        assert status == 200, page[:400]
        status, done = await decide(system, http, page)
        assert status == 200, done[:400]
        session = await session_of(system, http)
    status, token = await poll(system, party, body["device_code"])
    assert status == 200, token
    assert token["scope"] == "openid profile"
    claims = await validated(system, party, token)  # signature against the JWKS, iss, aud, exp, at_hash
    assert claims["sub"] == party.user.id and claims["aud"] == party.client_id
    assert claims["auth_time"] == aged.auth_time == session.created_at - 90
    assert claims["sid"] == session.sid and session.sid
    assert claims["at_hash"] and "nonce" not in claims
