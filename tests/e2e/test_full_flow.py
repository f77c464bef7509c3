"""The whole journey through the gateway with a real third-party OAuth client (Authlib) as "Your App":
authorize -> consent -> code -> token -> bus verify -> refresh -> verify, with client_secret_basic and
client_secret_post, with and without PKCE; a resource server guarded by ``require_scopes``; and a Redis
dump that must not contain a single usable token, code or secret."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client

from shared.grants import keys as grant_keys
from shared.tokens import SECRET_PATTERN
from shared.verify_client import TOKEN_INFO, require_scopes, setup_verifier
from tests.support.polling import eventually
from tests.support.system import System
from tests.support.token_flow import Party, api_calls, approve, bus_verify, new_party, redis_dump

SCOPE = "meetings:read users:read"
SEEN_SECRETS: list[str] = []  # every raw secret the flows below handled, for the at-rest check


async def authlib_flow(system: System, party: Party, *, auth_method: str, pkce: bool) -> dict[str, Any]:
    client = AsyncOAuth2Client(
        client_id=party.client_id,
        client_secret=party.secret,
        scope=SCOPE,
        redirect_uri=party.redirect_uri,
        token_endpoint_auth_method=auth_method,
        code_challenge_method="S256" if pkce else None,
    )
    async with client:
        verifier = generate_token(64) if pkce else None
        url, state = client.create_authorization_url(system.url("/oauth/authorize"), code_verifier=verifier)
        if pkce:
            assert "code_challenge=" in url
        location = await approve(system, party, url)
        token = await client.fetch_token(
            system.url("/oauth/token"), authorization_response=location, state=state, code_verifier=verifier
        )
        SEEN_SECRETS.extend([party.secret, location.split("code=")[1].split("&")[0]])
        assert token["token_type"] == "Bearer" and token["scope"] == SCOPE and token["expires_in"] == 3600
        info = await bus_verify(system, token["access_token"])
        assert (
            info["active"] is True and info["sub"] == party.user.id and info["client_id"] == party.client_id
        )
        renewed = await client.refresh_token(system.url("/oauth/token"), refresh_token=token["refresh_token"])
        assert renewed["refresh_token"] != token["refresh_token"]
        assert (await bus_verify(system, renewed["access_token"]))["active"] is True
        SEEN_SECRETS.extend([token["access_token"], token["refresh_token"]])
        SEEN_SECRETS.extend([renewed["access_token"], renewed["refresh_token"]])
        return dict(renewed)


@pytest.mark.parametrize(
    ("auth_method", "pkce"),
    [
        ("client_secret_basic", False),
        ("client_secret_post", False),
        ("client_secret_basic", True),
        ("client_secret_post", True),
    ],
)
async def test_full_flow_with_authlib(system: System, auth_method: str, pkce: bool) -> None:
    party = await new_party(system)
    await authlib_flow(system, party, auth_method=auth_method, pkce=pkce)
    assert (
        await system.redis.hlen(grant_keys.app_grant_users(party.client_id)) == 1
    )  # one active authorization
    assert await eventually(lambda: api_calls(system, party.client_id), lambda n: n >= 2)  # two verifications


async def test_a_resource_server_guarded_by_require_scopes(system: System) -> None:
    party = await new_party(system)
    tokens = await authlib_flow(system, party, auth_method="client_secret_basic", pkce=True)

    @require_scopes("meetings:read")
    async def meetings(request: web.Request) -> web.Response:
        return web.json_response({"user": request[TOKEN_INFO].sub})

    @require_scopes("meetings:write")
    async def write(request: web.Request) -> web.Response:
        return web.json_response({})

    app = web.Application()
    setup_verifier(app, system.nc)
    app.router.add_get("/meetings", meetings)
    app.router.add_post("/meetings", write)
    async with TestClient(TestServer(app)) as http:
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        resp = await http.get("/meetings", headers=bearer)
        assert resp.status == 200 and (await resp.json()) == {"user": party.user.id}
        resp = await http.post("/meetings", headers=bearer)
        assert resp.status == 403
        assert 'error="insufficient_scope"' in resp.headers["WWW-Authenticate"]
        resp = await http.get("/meetings")
        assert resp.status == 401 and resp.headers["WWW-Authenticate"] == 'Bearer realm="mavio"'
        resp = await http.get("/meetings", headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
        assert resp.status == 401 and 'error="invalid_token"' in resp.headers["WWW-Authenticate"]


async def test_redis_never_holds_a_usable_token_code_or_secret(system: System) -> None:
    if not SEEN_SECRETS:
        party = await new_party(system)
        await authlib_flow(system, party, auth_method="client_secret_post", pkce=True)
    dump = await redis_dump(system)
    assert SECRET_PATTERN.search(dump.decode("latin-1")) is None
    for secret in SEEN_SECRETS:
        body = secret.split("_", 2)[-1].encode()  # even without its prefix
        assert body[:24] not in dump, secret[:12]
