"""Sign-in throttling: past MAVIO_LOGIN_MAX_FAILURES failures an account (and, at ten times that,
an address) gets 429 without its password being checked; a success clears the account's count."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from services.gateway.sessions import COOKIE
from tests.support.factories import DEFAULT_PASSWORD, create_account, login_csrf, new_http, unique_email
from tests.support.system import System, start_system

LIMIT = 3


@pytest.fixture(scope="module")
async def throttled() -> AsyncIterator[System]:
    sut = await start_system({"MAVIO_LOGIN_MAX_FAILURES": str(LIMIT)})
    yield sut
    await sut.close()


async def attempt(
    system: System, http: aiohttp.ClientSession, email: str, password: str
) -> tuple[int, str, str]:
    token = await login_csrf(system, http)
    form = {"csrf_token": token, "email": email, "password": password}
    async with http.post(system.url("/login"), data=form, allow_redirects=False) as resp:
        signed_in = COOKIE in resp.cookies
        return (
            resp.status,
            await resp.text(),
            resp.headers.get("Retry-After", "") + ("+" if signed_in else ""),
        )


async def test_an_account_is_locked_after_the_limit_even_for_the_right_password(throttled: System) -> None:
    account = await create_account(throttled, email=unique_email())
    async with new_http() as http:
        for _ in range(LIMIT):
            status, _, _ = await attempt(throttled, http, account.email, "wrong password")
            assert status == 401
        status, html, retry = await attempt(throttled, http, account.email, DEFAULT_PASSWORD)
    assert status == 429
    assert "Too many failed sign-in attempts. Try again in 15 minutes." in html
    assert 800 < int(retry) <= 900  # Retry-After, and no session cookie


async def test_a_success_clears_the_count_and_other_accounts_are_unaffected(throttled: System) -> None:
    account = await create_account(throttled, email=unique_email())
    other = await create_account(throttled, email=unique_email())
    async with new_http() as http:
        for _ in range(LIMIT - 1):
            assert (await attempt(throttled, http, account.email, "wrong"))[0] == 401
        status, _, marker = await attempt(throttled, http, account.email, DEFAULT_PASSWORD)
        assert status == 303 and marker == "+"
    async with new_http() as http:
        for _ in range(LIMIT - 1):
            assert (await attempt(throttled, http, account.email, "wrong"))[0] == 401
        assert (await attempt(throttled, http, other.email, DEFAULT_PASSWORD))[0] == 303


async def test_an_address_is_throttled_across_accounts(throttled: System) -> None:
    await throttled.redis.flushdb()  # a clean window for this address
    async with new_http() as http:
        for i in range(10 * LIMIT):
            status, _, _ = await attempt(throttled, http, unique_email(f"spray{i}"), "guess")
            assert status == 401, i
        account = await create_account(throttled, email=unique_email())
        status, _, _ = await attempt(throttled, http, account.email, DEFAULT_PASSWORD)
    assert status == 429
