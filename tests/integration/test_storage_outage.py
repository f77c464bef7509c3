"""Redis away and back: every answer while it is away is a clear ``temporarily_unavailable`` (the bus
error envelope; 503 with the RFC 6749 §5.2 body at the gateway), never a 500 and never an answer made
up without the data (``{"active": false}`` for a valid token makes resource servers reject good
tokens); once Redis is back (append-only file on), the very first request works again."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from shared import subjects
from shared.config import load_settings
from shared.errors import TemporarilyUnavailable
from shared.store import make_redis
from shared.verify_client import TokenVerifier, require_scopes, setup_verifier
from tests.support.factories import new_http, sign_in
from tests.support.system import Servers, System, start_system
from tests.support.token_flow import bus_verify, new_party, refresh, token_request, tokens_for


@pytest.fixture
async def sut() -> AsyncIterator[System]:
    system = await start_system(redis_persist=True)
    yield system
    if system.servers.redis.proc.poll() is not None:
        system.servers.restart_redis()
    await system.close()


async def verify_reply(system: System, token: str) -> tuple[dict[str, str], dict[str, object]]:
    msg = await system.nc.request(subjects.TOKEN_VERIFY, json.dumps({"token": token}).encode(), timeout=10)
    return dict(msg.headers or {}), json.loads(msg.data)


async def test_the_first_command_after_a_redis_restart_succeeds() -> None:
    """Pooled connections to the old server are stale after a restart: the client retries on a fresh
    one instead of failing the caller."""
    servers = Servers.start(redis_persist=True)
    client = make_redis(load_settings(servers.env()))
    try:
        await client.set("mavio:probe", "1")
        await asyncio.to_thread(servers.restart_redis)
        assert await client.get("mavio:probe") == b"1"
    finally:
        await client.aclose()
        servers.stop()


async def test_a_valid_token_verifies_on_the_first_try_after_a_redis_restart(sut: System) -> None:
    pair = await tokens_for(sut, await new_party(sut))
    assert (await bus_verify(sut, pair["access_token"]))["active"] is True
    await asyncio.to_thread(sut.servers.restart_redis)
    headers, body = await verify_reply(sut, pair["access_token"])
    assert "Nats-Service-Error" not in headers, body
    assert body["active"] is True


async def test_while_redis_is_down_a_valid_token_is_unavailable_not_inactive(sut: System) -> None:
    party = await new_party(sut)
    pair = await tokens_for(sut, party)
    await asyncio.to_thread(sut.servers.redis.stop)

    headers, body = await verify_reply(sut, pair["access_token"])
    assert headers.get("Nats-Service-Error") == "temporarily_unavailable", (headers, body)
    assert headers.get("Nats-Service-Error-Code") == "503"
    assert "active" not in body
    with pytest.raises(TemporarilyUnavailable):
        await TokenVerifier(sut.nc, timeout=10).verify(pair["access_token"])
    many = await sut.nc.request(
        subjects.TOKEN_VERIFY_MANY, json.dumps({"tokens": [pair["access_token"]] * 3}).encode(), timeout=10
    )
    assert many.headers and many.headers.get("Nats-Service-Error") == "temporarily_unavailable", many.data
    assert many.headers.get("Nats-Service-Error-Code") == "503"
    batched = TokenVerifier(sut.nc, timeout=10)  # one token.verify_many message: each caller fails alike
    failed = await asyncio.gather(
        *(batched.verify(pair["access_token"]) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(f, TemporarilyUnavailable) for f in failed), failed

    @require_scopes("meetings:read")
    async def meetings(_: web.Request) -> web.Response:
        return web.json_response({})

    app = web.Application()
    setup_verifier(app, sut.nc, timeout=10)
    app.router.add_get("/meetings", meetings)
    async with TestClient(TestServer(app)) as http:
        resp = await http.get("/meetings", headers={"Authorization": f"Bearer {pair['access_token']}"})
        assert resp.status == 503  # not 401: the resource server does not reject a good token
        assert (await resp.json())["error"] == "temporarily_unavailable"


async def test_while_redis_is_down_the_gateway_answers_503_in_the_oauth_shape(sut: System) -> None:
    party = await new_party(sut)
    pair = await tokens_for(sut, party)
    browser = new_http()
    await sign_in(sut, browser, party.user.email)
    await asyncio.to_thread(sut.servers.redis.stop)

    forms = {
        "/oauth/token": {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]},
        "/oauth/introspect": {"token": pair["access_token"]},
        "/oauth/revoke": {"token": pair["access_token"]},
    }
    for path, form in forms.items():
        status, headers, body = await token_request(sut, {**form, **party.post_auth()}, path=path)
        assert status == 503, (path, status, body)
        assert body["error"] == "temporarily_unavailable" and body["error_description"], (path, body)
        assert headers["Cache-Control"] == "no-store"
    async with browser, browser.get(sut.url("/settings"), allow_redirects=False) as resp:
        assert resp.status == 503, await resp.text()  # the session store is away: a page, not a 500
        assert "text/html" in resp.headers["Content-Type"]

    await asyncio.to_thread(sut.servers.restart_redis)
    status, _, renewed = await refresh(sut, party, pair["refresh_token"])
    assert status == 200, renewed  # the refresh refused while Redis was away was not spent
    assert (await bus_verify(sut, renewed["access_token"]))["active"] is True
