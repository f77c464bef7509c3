"""Discovery (OpenID Connect Discovery 1.0 §3-4) with every required and recommended field, the same
OIDC fields in RFC 8414's document, and the JWKS (RFC 7517 §5): public keys only, with a Cache-Control."""

from __future__ import annotations

from shared.signing.keyset import ALGS
from tests.support.oidc import discovery, fetch_jwks
from tests.support.system import System

OIDC_FIELDS = {
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "end_session_endpoint",
    "scopes_supported",
    "response_types_supported",
    "response_modes_supported",
    "grant_types_supported",
    "subject_types_supported",
    "id_token_signing_alg_values_supported",
    "claims_supported",
    "token_endpoint_auth_methods_supported",
    "code_challenge_methods_supported",
    "request_parameter_supported",
    "request_uri_parameter_supported",
    "claims_parameter_supported",
    "authorization_response_iss_parameter_supported",
}


async def test_openid_configuration_has_every_field_and_matches_rfc_8414(system: System) -> None:
    meta = await discovery(system)
    base = system.settings.public_url
    assert OIDC_FIELDS <= set(meta)
    assert meta["issuer"] == base
    assert meta["userinfo_endpoint"] == f"{base}/oauth/userinfo"
    assert meta["jwks_uri"] == f"{base}/oauth/jwks"
    assert meta["end_session_endpoint"] == f"{base}/oauth/logout"
    assert {"openid", "profile", "email"} <= set(meta["scopes_supported"])
    assert meta["response_types_supported"] == ["code"]
    assert meta["subject_types_supported"] == ["public"]
    assert meta["id_token_signing_alg_values_supported"] == ["RS256", "ES256"]
    assert {"sub", "name", "email", "email_verified", "auth_time", "nonce", "sid"} <= set(
        meta["claims_supported"]
    )
    assert meta["request_parameter_supported"] is False and meta["request_uri_parameter_supported"] is False
    assert meta["claims_parameter_supported"] is True
    assert meta["authorization_response_iss_parameter_supported"] is True
    async with system.http.get(system.url("/.well-known/oauth-authorization-server")) as resp:
        assert (await resp.json()) == meta  # one document, one issuer


async def test_the_jwks_publishes_public_keys_of_both_algorithms_with_a_cache_lifetime(
    system: System,
) -> None:
    async with system.http.get(system.url("/oauth/jwks")) as resp:
        assert resp.status == 200
        assert resp.headers["Cache-Control"] == "public, max-age=300"
    keys = (await fetch_jwks(system))["keys"]
    assert sorted({k["alg"] for k in keys}) == sorted(ALGS)
    assert len(keys) >= 4  # a current and a next key of each algorithm
    for key in keys:
        assert key["use"] == "sig" and key["kid"]
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key), "a private member in the JWKS"
