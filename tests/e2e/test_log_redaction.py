"""Every log line of a full flow, and of oversized-header requests, is free of secrets: no client
secret, code, token, PKCE verifier, password, session cookie or Basic credential, raw or shaped.

Logging is configured at debug level into a buffer before the system starts, so every service, the
gateway and every stdlib logger (aiohttp, nats, redis) write there through ``shared.logging``."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import AsyncIterator

import pytest

from services.gateway.sessions import COOKIE
from shared.logging import configure_logging
from shared.tokens import SECRET_PATTERN
from tests.support.factories import DEFAULT_PASSWORD, login_csrf, new_http, sign_in
from tests.support.raw_http import raw
from tests.support.system import System, start_system
from tests.support.token_flow import consent_code, exchange, new_party, pkce_pair, refresh, token_request

BASIC_SHAPE = re.compile(r"Basic\s+[A-Za-z0-9+/=]{8,}")


@pytest.fixture(scope="module")
async def logged() -> AsyncIterator[tuple[System, io.StringIO]]:
    buffer = io.StringIO()
    configure_logging(json=True, level="debug", stream=buffer, cache=False)
    system = await start_system({"MAVIO_LOG_LEVEL": "debug"})
    try:
        yield system, buffer
    finally:
        await system.close()
        configure_logging(json=False, level="warning", cache=False)


async def test_no_log_line_of_a_full_flow_holds_a_secret(logged: tuple[System, io.StringIO]) -> None:
    system, buffer = logged
    party = await new_party(system)
    verifier, challenge = pkce_pair()
    code = await consent_code(system, party, challenge=challenge)
    basic = party.basic_header()
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": party.redirect_uri}
    status, _, pair = await token_request(system, {**form, "code_verifier": verifier}, headers=basic)
    assert status == 200, pair
    status, _, second = await refresh(system, party, pair["refresh_token"])
    assert status == 200
    for path in ("/oauth/introspect", "/oauth/revoke"):
        status, _, _ = await token_request(
            system, {"token": second["access_token"], **party.post_auth()}, path=path
        )
        assert status == 200
    wrong = {
        "Authorization": "Basic "
        + base64.b64encode(f"{party.client_id}:{party.secret[:-1]}x".encode()).decode()
    }
    assert (
        await token_request(system, {"token": second["access_token"]}, headers=wrong, path="/oauth/revoke")
    )[0] == 401

    status, _, _ = await exchange(system, party, code, code_verifier=verifier)  # reuse: logged loudly
    assert status == 400
    async with new_http() as http:
        await sign_in(system, http, party.user.email)
        session = next(c.value for c in http.cookie_jar if c.key == COOKIE)
    async with new_http() as http:
        token = await login_csrf(system, http)
        async with http.post(
            system.url("/login"),
            data={"csrf_token": token, "email": party.user.email, "password": "not-" + DEFAULT_PASSWORD},
        ) as resp:
            assert resp.status == 401

    port = system.settings.http_port
    big_cookie = f"Cookie: {COOKIE}={session}; pad={'p' * 9000}\r\n".encode()
    big_basic = (basic["Authorization"] + " " + "q" * 9000).encode()
    for head in (
        big_cookie,
        b"Authorization: " + big_basic + b"\r\n",
        b"X-Pad: " + b"x" * 9000 + b"\r\nCookie: " + COOKIE.encode() + b"=" + session.encode() + b"\r\n",
    ):
        answer = await raw(port, b"GET /settings/connected-apps HTTP/1.1\r\nHost: x\r\n" + head + b"\r\n")
        assert b" 431 " in answer.split(b"\r\n", 1)[0]

    text = buffer.getvalue()
    lines = text.splitlines()
    assert len(lines) > 20  # the flow was logged (at debug level), so the scan means something
    secrets = {
        party.secret,
        party.secret[:24],
        code,
        verifier,
        pair["access_token"],
        pair["refresh_token"],
        second["access_token"],
        second["refresh_token"],
        session,
        DEFAULT_PASSWORD,
        basic["Authorization"].split()[1],
    }
    for line in lines:
        for secret in secrets:
            assert secret not in line, line[:300]
        assert SECRET_PATTERN.search(line) is None, line[:300]
        assert BASIC_SHAPE.search(line) is None, line[:300]


async def test_aiohttps_own_log_of_an_oversized_header_is_redacted() -> None:
    """The leak of the issue: plain aiohttp logs the start of a header line over 8190 bytes (a cookie,
    Basic credentials). Our gateway answers such requests itself, but any aiohttp logger is redacted."""
    from aiohttp import web

    from services.stack.embedded import free_port

    buffer = io.StringIO()
    configure_logging(json=False, level="debug", stream=buffer, cache=False)
    runner = web.AppRunner(web.Application())  # aiohttp's own handler, not ours
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    sid = "S3ss10nValue" * 4
    credentials = base64.b64encode(b"mavio_client_x:mavio_cs_" + b"k" * 46).decode()
    try:
        for header in (
            f"Cookie: {COOKIE}={sid}{'p' * 9000}",
            f"Authorization: Basic {credentials}{'=' * 9000}",
        ):
            await raw(port, f"GET / HTTP/1.1\r\nHost: x\r\n{header}\r\n\r\n".encode())
    finally:
        await runner.cleanup()
        configure_logging(json=False, level="warning", cache=False)
    text = buffer.getvalue()
    assert "Error handling request" in text  # aiohttp did log them
    assert sid not in text and credentials[:40] not in text and "kkkkkkkk" not in text
