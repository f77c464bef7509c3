"""Sign-in throttling: past MAVIO_LOGIN_MAX_FAILURES failures for an account from one address, that
address (and, at ten times that over all accounts, any address) gets 429 without its password being
checked, while the account still opens from elsewhere; a success clears the count."""

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
    sut = await start_system({"MAVIO_LOGIN_MAX_FAILURES": str(LIMIT), "MAVIO_TRUSTED_PROXIES": "127.0.0.1"})
    yield sut
    await sut.close()


async def attempt(
    system: System, http: aiohttp.ClientSession, email: str, password: str, frm: str = ""
) -> tuple[int, str, str]:
    """(status, page, Retry-After plus "+" when a session cookie was set); from ``frm`` when given."""
    token = await login_csrf(system, http)
    form = {"csrf_token": token, "email": email, "password": password}
    headers = {"X-Forwarded-For": frm} if frm else {}
    async with http.post(system.url("/login"), data=form, headers=headers, allow_redirects=False) as resp:
        signed_in = COOKIE in resp.cookies
        return (
            resp.status,
            await resp.text(),
            resp.headers.get("Retry-After", "") + ("+" if signed_in else ""),
        )


async def test_the_failing_address_is_slowed_and_the_account_still_opens_from_elsewhere(
    throttled: System,
) -> None:
    """Wrong passwords past the limit slow the address they come from, not the account: before, the
    account was locked for 15 minutes even for the right password, from anywhere (an attacker could
    keep its owner away from Connected apps > Revoke)."""
    account = await create_account(throttled, email=unique_email())
    async with new_http() as http:
        for _ in range(LIMIT):
            status, _, _ = await attempt(throttled, http, account.email, "wrong password", "10.8.0.1")
            assert status == 401
        status, html, retry = await attempt(throttled, http, account.email, DEFAULT_PASSWORD, "10.8.0.1")
        assert status == 429
        assert "Too many failed sign-in attempts. Try again in 15 minutes." in html
        assert 800 < int(retry) <= 900  # Retry-After, and no session cookie
    async with new_http() as http:
        status, _, marker = await attempt(throttled, http, account.email, DEFAULT_PASSWORD, "10.9.0.1")
    assert status == 303 and marker == "+"


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


async def test_an_ipv6_address_is_counted_as_its_64(throttled: System) -> None:
    """Wrong passwords from addresses across one /64 count together (one host can take any of them);
    another /64 still signs in."""
    account = await create_account(throttled, email=unique_email())
    async with new_http() as http:
        for i in range(LIMIT):
            frm = f"2001:db8:5:6::{i + 1:x}"
            assert (await attempt(throttled, http, account.email, "wrong password", frm))[0] == 401
        status, _, _ = await attempt(throttled, http, account.email, DEFAULT_PASSWORD, "2001:db8:5:6:ffff::1")
        assert status == 429
        status, _, marker = await attempt(throttled, http, account.email, DEFAULT_PASSWORD, "2001:db8:5:7::1")
    assert status == 303 and marker == "+"
