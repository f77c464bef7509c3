"""UserInfo (OpenID Connect Core 1.0 §5.3; RFC 6750 §2.1-2.2, §3.1): GET with a Bearer header, POST with
the header or the form field ``access_token``; the claims each scope releases, in any order; a missing
token (bare challenge), a bad or revoked one (``invalid_token``), one without ``openid``
(``insufficient_scope``); each answered call counted like a verification."""

from __future__ import annotations

import pytest

from tests.support.oidc import oidc_party, save_oidc_code, userinfo, validated
from tests.support.polling import eventually
from tests.support.system import System
from tests.support.token_flow import (
    Party,
    api_calls,
    exchange,
    last_char_changed,
    token_request,
    tokens_for,
)


async def oidc_tokens(system: System, party: Party, scope: str) -> dict[str, object]:
    status, _, token = await exchange(system, party, await save_oidc_code(system, party, scope=scope))
    assert status == 200, token
    return token


def bearer(token: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_get_post_header_and_post_body_answer_the_same_sub_as_the_id_token(system: System) -> None:
    party = await oidc_party(system)
    token = await oidc_tokens(system, party, "openid profile email")
    sub = (await validated(system, party, token))["sub"]  # type: ignore[arg-type]
    user = party.user
    expected = {"sub": sub, "name": user.display_name, "email": user.email, "email_verified": False}
    access = token["access_token"]
    before = await api_calls(system, party.client_id)
    answers = [
        await userinfo(system, headers=bearer(access)),
        await userinfo(system, method="POST", headers=bearer(access)),
        await userinfo(system, method="POST", data={"access_token": access}),
    ]
    for status, headers, body in answers:
        assert status == 200 and body == expected
        assert headers["Cache-Control"] == "no-store" and headers["Content-Type"].startswith(
            "application/json"
        )
    assert await eventually(lambda: api_calls(system, party.client_id), lambda n: n >= before + 3)


@pytest.mark.parametrize(
    ("scope", "claims"),
    [
        ("openid", {"sub"}),
        ("openid profile", {"sub", "name"}),
        ("openid email", {"sub", "email", "email_verified"}),
        ("openid profile email", {"sub", "name", "email", "email_verified"}),
        ("email openid profile", {"sub", "name", "email", "email_verified"}),
        ("profile email openid", {"sub", "name", "email", "email_verified"}),
    ],
)
async def test_each_scope_releases_its_claims_in_any_order(
    system: System, scope: str, claims: set[str]
) -> None:
    party = await oidc_party(system)
    token = await oidc_tokens(system, party, scope)
    status, _, body = await userinfo(system, headers=bearer(token["access_token"]))
    assert status == 200 and set(body) == claims


async def test_no_token_gets_a_bare_bearer_challenge(system: System) -> None:
    for method in ("GET", "POST"):
        status, headers, _ = await userinfo(system, method=method)
        assert status == 401 and headers["WWW-Authenticate"] == "Bearer"


async def test_a_bad_or_revoked_token_is_invalid_token(system: System) -> None:
    party = await oidc_party(system)
    token = await oidc_tokens(system, party, "openid profile")
    for bad in ("not-a-token", token["refresh_token"], last_char_changed(str(token["access_token"]))):
        status, headers, body = await userinfo(system, headers=bearer(bad))
        assert status == 401 and body["error"] == "invalid_token"
        assert headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    status, _, _ = await token_request(
        system, {"token": token["access_token"], **party.post_auth()}, path="/oauth/revoke"
    )
    assert status == 200
    status, headers, body = await userinfo(system, headers=bearer(token["access_token"]))  # at once
    assert status == 401 and body["error"] == "invalid_token"


async def test_a_token_without_openid_is_insufficient_scope(system: System) -> None:
    party = await oidc_party(system)
    token = await tokens_for(system, party, scope="meetings:read")
    status, headers, body = await userinfo(system, headers=bearer(token["access_token"]))
    assert status == 403 and body["error"] == "insufficient_scope"
    assert headers["WWW-Authenticate"].startswith('Bearer error="insufficient_scope"')


async def test_a_token_sent_two_ways_at_once_is_refused(system: System) -> None:
    party = await oidc_party(system)
    token = await oidc_tokens(system, party, "openid")
    access = token["access_token"]
    status, _, body = await userinfo(
        system, method="POST", headers=bearer(access), data={"access_token": access}
    )
    assert status == 400 and body["error"] == "invalid_request"
