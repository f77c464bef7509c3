""" "Revoke all tokens" is the registry's command (issue 23), on real servers: the gateway makes one
registry request for it, from the JSON API and from the app page's form alike, and asks revocation
nothing (the registry queues the work on revocation's durable command queue); the gateway's bus user
may no longer ask revocation to revoke an app's tokens itself."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import msgspec
import nats
import nats.errors
import pytest
from nats.aio.subscription import Subscription

from shared import bus_auth, subjects
from shared.messages.registry import (
    AccountView,
    AppView,
    GetOwnedAppRequest,
    OwnerRequest,
    RevokeAppTokensRequest,
)
from shared.messages.revocation import RevokeAppRequest
from tests.support.bus_users import connect_as
from tests.support.factories import RevocationStandIn, create_app, csrf_of, signed_in_client
from tests.support.system import System, start_system

API = "/api/v1/oauth-apps"
PAGES = "/settings/developer/oauth-apps"


@pytest.fixture(scope="module")
async def sut() -> AsyncIterator[System]:
    """Registry and gateway; revocation's side is ``RevocationStandIn`` on the real command queue."""
    system = await start_system(services=("registry",))
    yield system
    await system.close()


@pytest.fixture
async def dev(sut: System) -> AsyncIterator[tuple[aiohttp.ClientSession, AccountView, AppView]]:
    http, account = await signed_in_client(sut)
    app, _ = await create_app(sut, account)
    yield http, account, app
    await http.close()


class Spy:
    """Every request on the registry's and revocation's own subjects, seen by a plain subscriber."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.subs: list[Subscription] = []

    async def __aenter__(self) -> Spy:
        for service in (subjects.REGISTRY, subjects.REVOCATION):
            self.subs.append(await self.system.nc.subscribe(f"{subjects.PREFIX}.{service}.>"))
        await self.system.nc.flush()
        return self

    async def __aexit__(self, *_: object) -> None:
        for sub in self.subs:
            await sub.unsubscribe()

    async def seen(self) -> tuple[list[OwnerRequest], list[str]]:
        """What reached the server before now: owner requests to the registry, revocation subjects."""
        await self.system.nc.flush()  # everything routed before this round trip is in the queues
        registry, revocation = self.subs
        owner: list[OwnerRequest] = []
        while registry.pending_msgs:
            msg = await registry.next_msg(timeout=1)
            if msg.subject == subjects.REGISTRY_OWNER:
                owner.append(msgspec.json.decode(msg.data, type=OwnerRequest))
        asked = []
        while revocation.pending_msgs:
            asked.append((await revocation.next_msg(timeout=1)).subject)
        return owner, asked


async def revoke_form(http: aiohttp.ClientSession, system: System, app: AppView) -> tuple[str, str]:
    """The app page's "Revoke all tokens" form: its address and CSRF token."""
    path = f"{PAGES}/{app.client_id}/revoke"
    async with http.get(system.url(path)) as resp:
        return path, csrf_of(await resp.text())


async def test_the_api_makes_one_registry_call_and_asks_revocation_nothing(
    sut: System, dev: tuple[aiohttp.ClientSession, AccountView, AppView]
) -> None:
    http, account, app = dev
    async with RevocationStandIn(sut, families_revoked=4) as revocation, Spy(sut) as spy:
        url = sut.url(f"{API}/{app.client_id}/revoke-tokens")
        async with http.post(url, json={}) as resp:
            assert resp.status == 200
            assert await resp.json() == {"client_id": app.client_id, "families_revoked": 4}
        owner, asked = await spy.seen()
    assert owner == [RevokeAppTokensRequest(user_id=account.id, client_id=app.client_id)]
    assert asked == []
    assert revocation.calls == [
        RevokeAppRequest(client_id=app.client_id, reason="app_revoke_all", actor=account.id)
    ]


async def test_the_page_makes_one_registry_call_and_asks_revocation_nothing(
    sut: System, dev: tuple[aiohttp.ClientSession, AccountView, AppView]
) -> None:
    http, account, app = dev
    path, token = await revoke_form(http, sut, app)
    async with RevocationStandIn(sut) as revocation, Spy(sut) as spy:
        async with http.post(sut.url(path), data={"csrf_token": token}, allow_redirects=False) as resp:
            assert resp.status == 303
        owner, asked = await spy.seen()
    assert owner == [RevokeAppTokensRequest(user_id=account.id, client_id=app.client_id)]
    assert asked == []
    assert [call.reason for call in revocation.calls] == ["app_revoke_all"]


async def test_the_page_reads_the_app_only_to_say_the_revocation_is_pending(
    sut: System, dev: tuple[aiohttp.ClientSession, AccountView, AppView]
) -> None:
    """Revocation away: the command is queued (202, pending); the page then shows the app."""
    http, account, app = dev
    path, token = await revoke_form(http, sut, app)
    async with Spy(sut) as spy:
        async with http.post(sut.url(path), data={"csrf_token": token}) as resp:
            assert resp.status == 202 and app.name in await resp.text()
        owner, asked = await spy.seen()
    read = GetOwnedAppRequest(user_id=account.id, client_id=app.client_id)
    assert owner == [RevokeAppTokensRequest(user_id=account.id, client_id=app.client_id), read]
    assert asked == []


async def test_the_gateway_user_may_not_ask_revocation_to_revoke_an_app(sut: System) -> None:
    assert subjects.REVOCATION_REVOKE_APP not in bus_auth.USERS["gateway"].publish
    errors: list[str] = []
    gateway = await connect_as(sut, "gateway", errors)
    try:
        request = RevokeAppRequest(client_id="mavio_client_AAAAAAAAAAAAAAAA", reason="app_revoke_all")
        with pytest.raises(nats.errors.Error):
            await gateway.request(subjects.REVOCATION_REVOKE_APP, msgspec.json.encode(request), timeout=1)
        deadline = time.monotonic() + 10
        while not any("permissions violation for publish" in e.lower() for e in errors):
            assert time.monotonic() < deadline, errors  # the server's -ERR comes back asynchronously
            await asyncio.sleep(0.05)
    finally:
        await gateway.close()
