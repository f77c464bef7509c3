"""Developer webhooks end to end, set up and triggered the way a developer, a user, the app itself and
the operator do it (issue 26): the owner sets the **Webhook URL** over the JSON API and keeps the
signing secret its reply shows once; a local receiver verifies every delivery with the
``standardwebhooks`` library (unmodified) against that secret. Triggers: **Send test event**, **Revoke
all tokens**, a refresh-token reuse, a code reuse, the operator's ``users revoke-access``, and plan
changes through ``mavio-oauth users set-plan`` (narrowed, then emptied). The delivery log lists each one
delivered. A user revoking on Connected apps in the browser is ``tests/browser/test_demo_walk.py``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from shared.registry_client import RegistryClient
from tests.e2e import test_webhook_events as delivery_side
from tests.integration.test_cli import run
from tests.support.factories import create_account, signed_in_client
from tests.support.polling import until
from tests.support.system import System
from tests.support.token_flow import Party, consent_code, exchange, refresh
from tests.support.webhooks import Receiver

API = "/api/v1/oauth-apps"
ALL = delivery_side.ALL
# The same system (a rotated refresh token used again is reuse) and receiver as the delivery side's tests.
hooks_system = delivery_side.hooks_system
receiver = delivery_side.receiver


class Developer:
    """The app's owner, signed in to the JSON API, with an app whose webhook URL is the receiver's."""

    def __init__(self, system: System, http: aiohttp.ClientSession, party: Party) -> None:
        self.system, self.http, self.party = system, http, party

    async def post(self, path: str) -> tuple[int, Any]:
        url = self.system.url(f"{API}/{self.party.client_id}{path}")
        async with self.http.post(url, json={}) as resp:
            return resp.status, await resp.json()

    async def deliveries(self) -> list[dict[str, Any]]:
        async with self.http.get(self.system.url(f"{API}/{self.party.client_id}/webhook-deliveries")) as resp:
            assert resp.status == 200
            return list((await resp.json())["deliveries"])


@pytest.fixture
async def developer(hooks_system: System, receiver: Receiver) -> AsyncIterator[Developer]:
    http, owner = await signed_in_client(hooks_system)
    body = {
        "name": "Hooked",
        "homepage_url": "https://hooked.example",
        "redirect_uris": ["https://hooked.example/cb"],
        "scopes": ALL.split(),
        "webhook_url": receiver.url,
    }
    async with http.post(hooks_system.url(API), json=body) as resp:
        assert resp.status == 201
        created = await resp.json()
    receiver.secret = created["webhook_secret"]  # shown once, in this reply
    app = await RegistryClient(hooks_system.bus).get_app(created["client_id"])
    user = await create_account(hooks_system, plan="business")
    yield Developer(hooks_system, http, Party(app, created["client_secret"], user, owner))
    await http.close()


async def tokens(system: System, party: Party, scope: str = "meetings:read") -> dict[str, Any]:
    status, _, body = await exchange(system, party, await consent_code(system, party, scope=scope))
    assert status == 200, body
    return body


async def received(receiver: Receiver, kind: str, count: int = 1) -> list[dict[str, Any]]:
    """The verified payloads of ``kind``, once ``count`` arrived; every delivery must verify."""

    async def arrived() -> bool:
        assert all(r.payload is not None for r in receiver.received), "a delivery did not verify"
        return len(receiver.of_type(kind)) >= count

    await until(f"{count} {kind} event(s)", arrived)
    return [r.payload for r in receiver.of_type(kind) if r.payload is not None]


async def test_send_test_event(developer: Developer, receiver: Receiver) -> None:
    status, queued = await developer.post("/webhook/test")
    assert status == 202 and queued["type"] == "webhook.test"
    [payload] = await received(receiver, "webhook.test")
    assert payload["data"]["client_id"] == developer.party.client_id
    assert receiver.ids() == [queued["id"]]


async def test_revoke_all_tokens_and_reuse(developer: Developer, receiver: Receiver) -> None:
    system, party = developer.system, developer.party
    await tokens(system, party)
    status, _ = await developer.post("/revoke-tokens")
    assert status == 200
    [owner] = await received(receiver, "tokens.revoked")
    assert owner["data"] | {"grant": ""} == {
        "grant": "",
        "sub": party.user.id,
        "client_id": party.client_id,
        "reason": "owner",
    }
    first = await tokens(system, party)
    assert (await refresh(system, party, first["refresh_token"]))[0] == 200
    assert (await refresh(system, party, first["refresh_token"]))[0] == 400  # the rotated one again
    code = await consent_code(system, party, scope="meetings:read")
    assert (await exchange(system, party, code))[0] == 200
    assert (await exchange(system, party, code))[0] == 400  # a used code again
    revoked = await received(receiver, "tokens.revoked", 3)
    assert [p["data"]["reason"] for p in revoked] == ["owner", "refresh_token_reuse", "code_reuse"]
    assert {p["data"]["sub"] for p in revoked} == {party.user.id}
    log = await developer.deliveries()
    assert [(d["type"], d["status"]) for d in log] == [("tokens.revoked", "delivered")] * 3
    assert sorted(d["id"] for d in log) == sorted(receiver.ids())


async def test_the_operator_ends_a_users_access(developer: Developer, receiver: Receiver) -> None:
    system, party = developer.system, developer.party
    await tokens(system, party)
    code, _, err = await run(system, "users", "revoke-access", party.user.email, "--app", party.client_id)
    assert code == 0, err
    [payload] = await received(receiver, "authorization.revoked")
    assert payload["data"]["reason"] == "operator" and payload["data"]["sub"] == party.user.id


async def test_a_plan_change_through_the_cli_narrows_then_empties(
    developer: Developer, receiver: Receiver
) -> None:
    system, party = developer.system, developer.party
    await tokens(system, party, scope=ALL)
    code, _, err = await run(system, "users", "set-plan", party.user.email, "pro")
    assert code == 0, err
    [narrowed] = await received(receiver, "authorization.narrowed")
    assert narrowed["data"]["removed_scopes"] == ["webhooks:write"]
    assert narrowed["data"]["scope"] == "meetings:read meetings:write"
    assert narrowed["data"]["reason"] == "plan" and narrowed["data"]["sub"] == party.user.id
    other = Party(party.app, party.secret, await create_account(system, plan="business"), party.owner)
    await tokens(system, other, scope="webhooks:write")  # nothing of it is left on the free plan
    code, _, err = await run(system, "users", "set-plan", other.user.email, "free")
    assert code == 0, err
    [emptied] = await received(receiver, "authorization.revoked")
    assert emptied["data"]["reason"] == "plan" and emptied["data"]["sub"] == other.user.id
