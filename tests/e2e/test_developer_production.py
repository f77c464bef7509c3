"""With MAVIO_ENV=production: Secure ``__Host-`` cookies, and https-only redirect URIs except loopback
(RFC 8252)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from services.gateway.sessions import COOKIE, HOST_PREFIX
from services.gateway.web_helpers import LOGIN_CSRF_COOKIE
from tests.support.factories import (
    DEFAULT_PASSWORD,
    code_by_id,
    create_account,
    csrf_of,
    field_errors,
    login_csrf,
)
from tests.support.system import System, start_system

APPS = "/settings/developer/oauth-apps"


@pytest.fixture(scope="module")
async def production() -> AsyncIterator[System]:
    sut = await start_system(
        {
            "MAVIO_ENV": "production",
            "MAVIO_TOKEN_HMAC_KEY": "production-test-key-" + "x" * 32,
            "MAVIO_KEY_ENCRYPTION_KEY": "production-test-kek-" + "y" * 32,
        },
        services=("registry",),
    )
    yield sut
    await sut.close()


@pytest.fixture
async def http(production: System) -> AsyncIterator[aiohttp.ClientSession]:
    """A client that sends Secure cookies to the test's http://127.0.0.1 gateway."""
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[production.base_url])
    async with aiohttp.ClientSession(cookie_jar=jar) as client:
        yield client


async def test_cookies_are_secure_in_production(production: System, http: aiohttp.ClientSession) -> None:
    account = await create_account(production)
    async with http.get(production.url("/login")) as resp:
        assert resp.cookies[HOST_PREFIX + LOGIN_CSRF_COOKIE]["secure"]
    token = await login_csrf(production, http)
    data = {"csrf_token": token, "email": account.email, "password": DEFAULT_PASSWORD}
    async with http.post(production.url("/login"), data=data, allow_redirects=False) as resp:
        assert resp.status == 303
        cookie = resp.cookies[HOST_PREFIX + COOKIE]
    assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax"
    assert cookie["path"] == "/" and not cookie["domain"]  # what the __Host- prefix requires
    assert COOKIE not in resp.cookies


@pytest.mark.parametrize(
    ("uris", "ok"),
    [
        ("http://app.example/cb", False),
        ("http://192.168.1.10:8080/cb", False),
        ("https://app.example/cb", True),
        ("http://127.0.0.1:51000/cb", True),
        ("http://[::1]:51000/cb", True),
        ("http://localhost:51000/cb", True),
        ("http://localhost/cb", True),
    ],
)
async def test_redirect_uris_need_https_except_loopback(
    production: System, http: aiohttp.ClientSession, uris: str, ok: bool
) -> None:
    account = await create_account(production)
    token = await login_csrf(production, http)
    data = {"csrf_token": token, "email": account.email, "password": DEFAULT_PASSWORD}
    async with http.post(production.url("/login"), data=data, allow_redirects=False) as resp:
        assert resp.status == 303
    async with http.get(production.url(APPS + "/new")) as resp:
        token = csrf_of(await resp.text())
    form = {
        "csrf_token": token,
        "name": "Prod App",
        "homepage_url": "https://prod.example",
        "redirect_uris": uris,
        "scopes": "users:read",
    }
    async with http.post(production.url(APPS), data=form) as resp:
        html = await resp.text()
    if ok:
        assert resp.status == 200 and code_by_id(html)["client-id"].startswith("mavio_client_")
    else:
        assert resp.status == 400 and "must use https" in field_errors(html)["redirect_uris"]
