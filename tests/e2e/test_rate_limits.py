"""Rate limits in Redis (``services.gateway.client_throttle``, ``throttle``): failed client
authentications per client id and per address at the token, revocation and introspection endpoints;
sign-in attempts counted before the password is checked; addresses from MAVIO_TRUSTED_PROXIES only."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from tests.support.factories import (
    DEFAULT_PASSWORD,
    create_account,
    create_app,
    login_csrf,
    new_http,
    unique_email,
)
from tests.support.system import System, start_system

LIMIT = 3
WINDOW = 2  # seconds; tests wait Retry-After (rounded up) plus a second of margin, never less
PATHS = ("/oauth/token", "/oauth/revoke", "/oauth/introspect")


@pytest.fixture(scope="module")
async def sut() -> AsyncIterator[System]:
    system = await start_system(
        {
            "MAVIO_CLIENT_AUTH_MAX_FAILURES": str(LIMIT),
            "MAVIO_LOGIN_MAX_FAILURES": "10",
            "MAVIO_LOGIN_CONCURRENCY": "64",
            "MAVIO_RATE_LIMIT_WINDOW": str(WINDOW),
            "MAVIO_TRUSTED_PROXIES": "127.0.0.1/32",
        }
    )
    yield system
    await system.close()


def address() -> str:
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


async def call(
    system: System, path: str, client_id: str, secret: str, frm: str
) -> tuple[int, dict[str, object], str]:
    form = {
        "client_id": client_id,
        "client_secret": secret,
        "token": "mavio_at_x",
        "grant_type": "refresh_token",
    }
    form["refresh_token"] = "mavio_rt_x"
    async with (
        new_http() as http,
        http.post(system.url(path), data=form, headers={"X-Forwarded-For": frm}) as resp,
    ):
        body = await resp.json() if resp.content_length else {}
        return resp.status, body, resp.headers.get("Retry-After", "")


@pytest.mark.parametrize("path", PATHS)
async def test_wrong_secrets_get_429_then_the_right_secret_works_after_the_window(
    sut: System, path: str
) -> None:
    owner = await create_account(sut)
    app, secret = await create_app(sut, owner)
    frm = address()
    for _ in range(LIMIT):
        status, body, _ = await call(sut, path, app.client_id, "mavio_cs_wrong", frm)
        assert status == 401 and body["error"] == "invalid_client"
    status, body, retry = await call(sut, path, app.client_id, secret, address())  # from anywhere
    assert status == 429
    assert body["error"] == "temporarily_unavailable" and body["error_description"]
    assert 1 <= int(retry) <= WINDOW
    await asyncio.sleep(int(retry) + 1)
    status, body, _ = await call(sut, path, app.client_id, secret, frm)
    assert status != 429 and body.get("error") != "invalid_client", (status, body)  # authenticated


async def test_one_address_spraying_client_ids_is_limited_and_others_are_not(sut: System) -> None:
    owner = await create_account(sut)
    app, secret = await create_app(sut, owner)
    frm = address()
    statuses = [
        (await call(sut, "/oauth/revoke", f"mavio_client_{secrets.token_hex(8)}", "mavio_cs_x", frm))[0]
        for _ in range(5 * LIMIT + 1)
    ]
    assert statuses[: 5 * LIMIT] == [401] * (5 * LIMIT) and statuses[-1] == 429
    assert (await call(sut, "/oauth/revoke", app.client_id, secret, frm))[0] == 429
    assert (await call(sut, "/oauth/revoke", app.client_id, secret, address()))[0] == 200


async def test_malformed_basic_credentials_count_on_the_address(sut: System) -> None:
    frm = address()
    statuses = []
    for _ in range(5 * LIMIT + 1):
        async with (
            new_http() as http,
            http.post(
                sut.url("/oauth/introspect"),
                data={"token": "t"},
                headers={"Authorization": "Basic %%%not-base64", "X-Forwarded-For": frm},
            ) as resp,
        ):
            statuses.append(resp.status)
    assert statuses[:-1] == [401] * (5 * LIMIT) and statuses[-1] == 429


async def sign_in_burst(system: System, email: str, password: str, addresses: list[str]) -> Counter[int]:
    async with new_http() as http:
        token = await login_csrf(system, http)

        async def one(frm: str) -> int:
            form = {"csrf_token": token, "email": email, "password": password}
            async with http.post(
                system.url("/login"), data=form, headers={"X-Forwarded-For": frm}, allow_redirects=False
            ) as resp:
                return resp.status

        return Counter(await asyncio.gather(*(one(a) for a in addresses)))


async def test_sixty_concurrent_wrong_passwords_get_exactly_the_limit_checked(sut: System) -> None:
    """Counted before the check, atomically: 10 of 60 simultaneous guesses are checked, 50 refused."""
    account = await create_account(sut, email=unique_email())
    got = await sign_in_burst(sut, account.email, "wrong password", [address() for _ in range(60)])
    assert got == Counter({401: 10, 429: 50})


async def test_without_trusted_proxies_x_forwarded_for_is_ignored() -> None:
    system = await start_system(
        {"MAVIO_CLIENT_AUTH_MAX_FAILURES": "1", "MAVIO_TRUSTED_PROXIES": "192.0.2.1"},
    )
    try:
        statuses = [
            (
                await call(
                    system, "/oauth/revoke", f"mavio_client_{secrets.token_hex(8)}", "mavio_cs_x", address()
                )
            )[0]
            for _ in range(6)
        ]
    finally:
        await system.close()
    assert statuses == [401] * 5 + [429]  # every request counted on the real peer, 127.0.0.1


async def test_a_flood_from_one_address_leaves_room_for_a_sign_in_from_elsewhere() -> None:
    system = await start_system({"MAVIO_LOGIN_CONCURRENCY": "4", "MAVIO_TRUSTED_PROXIES": "127.0.0.1"})
    try:
        account = await create_account(system, email=unique_email())
        flood = asyncio.gather(
            *(
                sign_in_burst(system, unique_email(f"flood{i}"), "guess", ["10.66.0.1"] * 10)
                for i in range(12)
            )
        )
        await asyncio.sleep(0)
        good = await sign_in_burst(system, account.email, DEFAULT_PASSWORD, ["10.77.0.1"])
        flooded = sum(await flood, Counter())
    finally:
        await system.close()
    assert good == Counter({303: 1})
    assert set(flooded) <= {401, 429, 503} and flooded[429] > 0
    assert flooded[401] <= 100  # the address's own limit (10 x MAVIO_LOGIN_MAX_FAILURES)
