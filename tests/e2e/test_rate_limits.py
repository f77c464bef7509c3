"""Rate limits in Redis (``services.gateway.ratelimit``): failed client
authentications per (client id, address) pair and per address at the token, revocation and
introspection endpoints, never refusing the right secret; sign-in attempts counted per (account,
address) before the password is checked, never locking the account for everyone; password checks
queued fairly per address (``sign_in_gate``); addresses from MAVIO_TRUSTED_PROXIES only."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Callable

import pytest

from services.gateway.keys import SIGN_IN_GATE
from services.gateway.ratelimit import Counters
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
LOGIN_LIMIT = 3
WINDOW = 2  # seconds; tests wait Retry-After (rounded up) plus a second of margin, never less
PATHS = ("/oauth/token", "/oauth/revoke", "/oauth/introspect")


@pytest.fixture(scope="module")
async def sut() -> AsyncIterator[System]:
    system = await start_system(
        {
            "MAVIO_CLIENT_AUTH_MAX_FAILURES": str(LIMIT),
            "MAVIO_LOGIN_MAX_FAILURES": str(LOGIN_LIMIT),
            "MAVIO_LOGIN_CONCURRENCY": "64",
            "MAVIO_RATE_LIMIT_WINDOW": str(WINDOW),
            "MAVIO_TRUSTED_PROXIES": "127.0.0.1/32",
        }
    )
    yield system
    await system.close()


async def until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.002)


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


async def authenticated(system: System, path: str, client_id: str, secret: str, frm: str) -> bool:
    status, body, _ = await call(system, path, client_id, secret, frm)
    assert status != 500, body
    return status != 429 and body.get("error") != "invalid_client"


@pytest.mark.parametrize("path", PATHS)
async def test_wrong_secrets_never_lock_out_the_right_secret(sut: System, path: str) -> None:
    """Wrong secrets for a client id (anyone can read it in an authorization URL) from several
    addresses, past the limit: the right secret still authenticates, from those addresses too.
    Before, the client id was refused with 429 for the whole window, renewable forever."""
    owner = await create_account(sut)
    app, secret = await create_app(sut, owner)
    attackers = [address() for _ in range(3)]
    for frm in attackers:
        for _ in range(LIMIT):
            status, body, _ = await call(sut, path, app.client_id, "mavio_cs_wrong", frm)
            assert status == 401 and body["error"] == "invalid_client"
        status, body, retry = await call(sut, path, app.client_id, "mavio_cs_wrong", frm)
        assert status == 429  # this address keeps failing for this client: told to back off
        assert body["error"] == "temporarily_unavailable" and body["error_description"]
        assert 1 <= int(retry) <= WINDOW
    assert await authenticated(sut, path, app.client_id, secret, address())
    for frm in attackers:
        assert await authenticated(sut, path, app.client_id, secret, frm)
    status, body, _ = await call(sut, path, app.client_id, "mavio_cs_wrong", address())
    assert status == 401 and body["error"] == "invalid_client"  # counted per (client, address) pair


async def test_a_pair_counts_afresh_after_the_window(sut: System) -> None:
    owner = await create_account(sut)
    app, _ = await create_app(sut, owner)
    frm = address()
    for _ in range(LIMIT):
        assert (await call(sut, "/oauth/token", app.client_id, "mavio_cs_wrong", frm))[0] == 401
    status, _, retry = await call(sut, "/oauth/token", app.client_id, "mavio_cs_wrong", frm)
    assert status == 429
    await asyncio.sleep(int(retry) + 1)  # the window's TTL plus a margin
    assert (await call(sut, "/oauth/token", app.client_id, "mavio_cs_wrong", frm))[0] == 401


async def test_one_address_spraying_client_ids_is_limited_but_never_the_right_secret(sut: System) -> None:
    owner = await create_account(sut)
    app, secret = await create_app(sut, owner)
    frm = address()
    statuses = [
        (await call(sut, "/oauth/revoke", f"mavio_client_{secrets.token_hex(8)}", "mavio_cs_x", frm))[0]
        for _ in range(5 * LIMIT + 1)
    ]
    assert statuses[: 5 * LIMIT] == [401] * (5 * LIMIT) and statuses[-1] == 429
    assert (await call(sut, "/oauth/revoke", app.client_id, "mavio_cs_wrong", frm))[0] == 429
    assert (await call(sut, "/oauth/revoke", app.client_id, secret, frm))[0] == 200  # before: 429
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


async def test_concurrent_wrong_passwords_from_many_addresses_never_lock_the_account(sut: System) -> None:
    """Twice the account limit of wrong passwords at once, each from its own address: every one is
    checked (401) and the right password still signs in. Before, the account was locked for everyone."""
    account = await create_account(sut, email=unique_email())
    many = [address() for _ in range(2 * LOGIN_LIMIT)]
    got = await sign_in_burst(sut, account.email, "wrong password", many)
    assert got == Counter({401: 2 * LOGIN_LIMIT})
    assert await sign_in_burst(sut, account.email, DEFAULT_PASSWORD, [address()]) == Counter({303: 1})


async def test_sixty_concurrent_counts_on_one_subject_are_exact(sut: System) -> None:
    """Counted before the check, atomically in Redis: 60 simultaneous attempts on one (account,
    address) pair, wherever they arrive (any gateway replica), see the counts 1 to 60 exactly once."""
    c = Counters(sut.redis, sut.settings.hmac_key, WINDOW)
    key = c.key("login-pair", f"{unique_email()}\n{address()}")
    counts = await asyncio.gather(*(c.hit(key) for _ in range(60)))
    assert sorted(n.value for n in counts) == list(range(1, 61))


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


async def test_two_addresses_holding_every_check_slot_leave_others_their_turn() -> None:
    """Two addresses keeping two wrong-password checks each in flight (every slot of
    MAVIO_LOGIN_CONCURRENCY=4): sign-ins from other addresses queue for the next free slot and get
    it, instead of an immediate 503."""
    system = await start_system(
        {
            "MAVIO_LOGIN_CONCURRENCY": "4",
            "MAVIO_LOGIN_MAX_FAILURES": "10000",  # the attackers' checks are never refused by a count
            "MAVIO_LOGIN_QUEUE_WAIT": "60",
            "MAVIO_TRUSTED_PROXIES": "127.0.0.1",
        }
    )
    try:
        victim = await create_account(system, email=unique_email())
        target = await create_account(system, email=unique_email())
        stop = asyncio.Event()

        async def attacker(frm: str) -> None:
            async with new_http() as http:
                token = await login_csrf(system, http)
                form = {"csrf_token": token, "email": target.email, "password": "guess"}

                async def one_check_after_another() -> None:
                    while not stop.is_set():
                        async with http.post(
                            system.url("/login"), data=form, headers={"X-Forwarded-For": frm}
                        ) as resp:
                            await resp.read()

                await asyncio.gather(one_check_after_another(), one_check_after_another())

        attackers = [asyncio.create_task(attacker(frm)) for frm in ("10.66.0.1", "10.66.0.2")]
        assert system._runner is not None
        gate = system._runner.app[SIGN_IN_GATE]
        try:
            await until(lambda: gate.in_flight == 4)
            got = Counter[int]()
            for i in range(5):
                got += await sign_in_burst(system, victim.email, DEFAULT_PASSWORD, [f"10.77.0.{i + 1}"])
        finally:
            stop.set()
            await asyncio.gather(*attackers)
    finally:
        await system.close()
    assert got == Counter({303: 5})
