"""Helpers for the OpenID Connect tests: an app that may ask for ``openid``, codes carrying an OIDC
session (written through the grant store, as the authorize service does), and ID tokens checked the
way a relying party does: Authlib's ``CodeIDToken`` against the JWKS fetched from ``jwks_uri``."""

from __future__ import annotations

from typing import Any

from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from shared.grants.store import grant_store
from shared.tokens import Signer
from tests.support.system import System
from tests.support.token_flow import Party, new_code, new_party

OIDC_SCOPES = ("openid", "profile", "email", "meetings:read")


async def oidc_party(system: System, *, alg: str = "RS256") -> Party:
    return await new_party(system, scopes=OIDC_SCOPES, id_token_signed_response_alg=alg)


async def discovery(system: System) -> dict[str, Any]:
    async with system.http.get(system.url("/.well-known/openid-configuration")) as resp:
        assert resp.status == 200
        body: dict[str, Any] = await resp.json()
        return body


async def fetch_jwks(system: System) -> dict[str, Any]:
    """The JWKS as a relying party gets it: from the ``jwks_uri`` discovery names."""
    uri = (await discovery(system))["jwks_uri"]
    async with system.http.get(uri) as resp:
        assert resp.status == 200
        body: dict[str, Any] = await resp.json()
        return body


async def validated(
    system: System, party: Party, token: dict[str, Any], *, nonce: str | None = None
) -> CodeIDToken:
    """The ID token of ``token`` (a token response) verified against the JWKS and validated by Authlib's
    ``CodeIDToken`` (iss, aud, exp, iat, nonce, at_hash), as Authlib's own OIDC client does."""
    meta = await discovery(system)
    keys = KeySet.import_key_set(await fetch_jwks(system))  # type: ignore[arg-type]
    registry = JWSRegistry(algorithms=meta["id_token_signing_alg_values_supported"])
    decoded = jwt.decode(token["id_token"], keys, registry=registry)
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        {"iss": {"values": [meta["issuer"]]}},
        {"nonce": nonce, "client_id": party.client_id, "access_token": token["access_token"]},
    )
    claims.validate(leeway=5)
    return claims


async def save_oidc_code(
    system: System,
    party: Party,
    *,
    scope: str = "openid profile email",
    nonce: str = "",
    auth_time: int = 0,
    sid: str = "",
    claims: str = "",
) -> str:
    """A code with an OIDC session, saved through the grant store (``CodeStore.save_code``) as the
    authorize service saves one."""
    code, record = new_code(party, scope=scope, nonce=nonce, auth_time=auth_time, sid=sid, claims=claims)
    store = grant_store(system.redis, system.settings)
    await store.save_code(Signer(system.settings.hmac_key).sign(code), record, 600)
    return code


async def userinfo(
    system: System, *, method: str = "GET", headers: dict[str, str] | None = None, data: Any = None
) -> tuple[int, Any, dict[str, Any]]:
    async with system.http.request(method, system.url("/oauth/userinfo"), headers=headers, data=data) as resp:
        body = await resp.read()
        return resp.status, resp.headers, (await resp.json()) if body else {}
