"""Certified and well-kept OpenID Connect relying-party libraries, unmodified, sign a user in against a
running system (gateway, services, NATS, Redis): openid-client 6 (Node, ``rp/openid_client_flow.mjs``),
Authlib (``AsyncOAuth2Client``, ``authlib.oidc.core.CodeIDToken`` against ``jwks_uri``) and
IdentityPython's ``idpyoidc`` (``RPHandler``). The consent page is answered over HTTP with the user's
session cookie (``tests.support.token_flow.approve``)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from tests.support.oidc_flow import OIDC_SCOPES
from tests.support.system import System
from tests.support.token_flow import Party, approve, new_party

with warnings.catch_warnings():  # Authlib's notice about the httpx package, not about this test
    warnings.filterwarnings("ignore", "The httpx module is deprecated", DeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

ROOT = Path(__file__).resolve().parents[2]
RP_DEPS = ROOT / ".rp-deps"
SCRIPT = Path(__file__).parent / "rp" / "openid_client_flow.mjs"
CALLBACK = "http://127.0.0.1/rp-callback"
SCOPE = "openid profile email"


async def party(system: System) -> Party:
    return await new_party(system, redirect_uris=[CALLBACK], scopes=list(OIDC_SCOPES))


def check_identity(party: Party, claims: dict[str, Any], userinfo: dict[str, Any]) -> None:
    """What every relying party must have learnt: the user by ``sub`` (the same in both), the name
    and email, and an ID token for this app from this issuer."""
    assert claims["sub"] == userinfo["sub"] == party.user.id
    assert claims["aud"] in (party.client_id, [party.client_id])
    assert userinfo["name"] == party.user.display_name and userinfo["email"] == party.user.email
    assert userinfo["email_verified"] is False


async def test_openid_client_signs_in_fetches_userinfo_and_refreshes(system: System) -> None:
    node = shutil.which("node")
    if node is None or not (RP_DEPS / "node_modules" / "openid-client").is_dir():
        pytest.fail("openid-client is not installed: run `make rp` (make test does it)")  # never a skip
    p = await party(system)
    proc = await asyncio.create_subprocess_exec(
        node,
        str(SCRIPT),
        system.base_url,
        p.client_id,
        p.secret,
        CALLBACK,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "RP_DEPS": str(RP_DEPS)},
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert line, (await proc.stderr.read()).decode()
        url = json.loads(line)["authorization_url"]
        callback = await approve(system, p, url)
        proc.stdin.write(callback.encode() + b"\n")
        await proc.stdin.drain()
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert line, (await proc.stderr.read()).decode()
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
    got = json.loads(line)
    check_identity(p, got["claims"], got["userinfo"])
    assert got["claims"]["nonce"] == got["nonce"] and got["metadata_issuer"] == system.settings.public_url
    refreshed = got["refreshed_claims"]
    assert got["refreshed_access_token"] and refreshed["sub"] == got["claims"]["sub"]
    assert refreshed["auth_time"] == got["claims"]["auth_time"] and "nonce" not in refreshed


async def test_authlib_signs_in_with_the_id_token_checked_against_the_jwks(system: System) -> None:
    p = await party(system)
    async with httpx.AsyncClient() as http:
        metadata = (await http.get(system.url("/.well-known/openid-configuration"))).json()
        jwks = (await http.get(metadata["jwks_uri"])).json()
    client = AsyncOAuth2Client(
        p.client_id, p.secret, scope=SCOPE, redirect_uri=CALLBACK, code_challenge_method="S256"
    )
    verifier, nonce = generate_token(64), generate_token(32)
    url, state = client.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    callback = await approve(system, p, url)
    assert dict(parse_qsl(urlsplit(callback).query))["iss"] == metadata["issuer"]
    async with client:
        token = await client.fetch_token(
            metadata["token_endpoint"], authorization_response=callback, state=state, code_verifier=verifier
        )
        userinfo = (await client.get(metadata["userinfo_endpoint"])).json()
    registry = JWSRegistry(algorithms=metadata["id_token_signing_alg_values_supported"])
    decoded = jwt.decode(token["id_token"], KeySet.import_key_set(jwks), registry=registry)
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        {"iss": {"essential": True, "value": metadata["issuer"]}},
        {"nonce": nonce, "client_id": p.client_id, "access_token": token["access_token"]},
    )
    claims.validate(leeway=5)  # iss, aud, exp, iat, nonce, at_hash, auth_time
    check_identity(p, dict(claims), userinfo)


# idpyoidc's default RP keys (DEFAULT_RP_KEY_DEFS) are written to these paths, relative to the working
# directory (the repo root under pytest), the private one holding private keys.
IDPY_KEY_FILES = (Path("private") / "jwks.json", Path("static") / "jwks.json")


def idpy_key_files() -> list[Path]:
    """idpyoidc's default key files present in the working directory or the repo root."""
    places = {Path.cwd(), ROOT}
    return [place / f for place in places for f in IDPY_KEY_FILES if (place / f).exists()]


async def test_idpyoidc_signs_in(system: System) -> None:
    from idpyoidc.client.defaults import DEFAULT_KEY_DEFS
    from idpyoidc.client.rp_handler import RPHandler

    assert idpy_key_files() == [], "left by an older run of this test: delete them"

    p = await party(system)
    config = {
        "issuer": system.base_url,
        "client_id": p.client_id,
        "client_secret": p.secret,
        "redirect_uris": [CALLBACK],
        "client_type": "oidc",
        "behaviour": {
            "response_types": ["code"],
            "scope": SCOPE.split(),
            "token_endpoint_auth_method": "client_secret_basic",
        },
        "add_ons": {
            "pkce": {
                "function": "idpyoidc.client.oauth2.add_on.pkce.add_support",
                "kwargs": {"code_challenge_length": 64, "code_challenge_method": "S256"},
            }
        },
    }
    # key definitions without a public or private path: the RP's keys stay in memory, no file written
    key_conf = {"key_defs": DEFAULT_KEY_DEFS}
    rp = RPHandler(
        base_url="http://127.0.0.1", client_configs={"mavio": config}, verify_ssl=False, key_conf=key_conf
    )
    # discovery, then the authorization URL (with a nonce, PKCE S256 and a state of its own)
    url = await asyncio.to_thread(rp.begin, "mavio", req_args={"scope": SCOPE.split()})
    callback = await approve(system, p, url)
    response = dict(parse_qsl(urlsplit(callback).query))
    result = await asyncio.to_thread(rp.finalize, system.base_url, response)
    assert "error" not in result, result
    claims = result["id_token"].to_dict() if hasattr(result["id_token"], "to_dict") else result["id_token"]
    check_identity(p, claims, result["userinfo"].to_dict())
    assert idpy_key_files() == []  # no key file (least of all private keys) written into the repo
