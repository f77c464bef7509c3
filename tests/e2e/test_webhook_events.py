"""Developer webhooks (issue 26) from the real product paths: each change reaches the app's receiver as
one signed event per grant, verified by the ``standardwebhooks`` library (unmodified): a user's
revocation, a plan change that narrows or empties a grant, the owner's **Revoke all tokens**, refresh
and code reuse. The app's own RFC 7009 revocation sends nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from shared import subjects
from shared.messages.revocation import RevokeGrantReply, RevokeGrantRequest
from shared.registry_client import RegistryClient
from shared.webhooks.client import WebhooksClient
from tests.support.factories import create_account, create_app
from tests.support.polling import until
from tests.support.system import System, start_system
from tests.support.token_flow import Party, consent_code, exchange, refresh, token_request
from tests.support.webhooks import Receiver, attach_webhook

ALL = "meetings:read meetings:write webhooks:write"  # webhooks:write: business; meetings:write: pro


@pytest.fixture(scope="module")
async def hooks_system() -> AsyncIterator[System]:
    sut = await start_system({"MAVIO_REFRESH_REPLAY_WINDOW": "0"})  # a rotated token used again is reuse
    yield sut
    await sut.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.close()


async def _party(system: System, receiver: Receiver, *, plan: str = "free", scopes: str = "") -> Party:
    owner = await create_account(system, name="Developer")
    app, secret = await create_app(system, owner, scopes=(scopes or ALL).split())
    receiver.secret = await attach_webhook(system, app.client_id, receiver.url)
    return Party(app, secret, await create_account(system, plan=plan), owner)


async def _one(receiver: Receiver, kind: str) -> dict[str, Any]:
    await until(f"a {kind} event", lambda: _has(receiver, kind))
    [got] = receiver.of_type(kind)
    assert got.payload is not None
    return got.payload


async def _has(receiver: Receiver, kind: str) -> bool:
    assert all(r.payload is not None for r in receiver.received), "a delivery did not verify"
    return bool(receiver.of_type(kind))


async def _tokens(system: System, party: Party, scope: str = "meetings:read") -> dict[str, Any]:
    status, _, body = await exchange(system, party, await consent_code(system, party, scope=scope))
    assert status == 200, body
    return body


async def test_a_user_revoking_the_app_sends_authorization_revoked(
    hooks_system: System, receiver: Receiver
) -> None:
    party = await _party(hooks_system, receiver)
    await _tokens(hooks_system, party)
    await _tokens(hooks_system, party)  # two families of one grant: still one event
    request = RevokeGrantRequest(user_id=party.user.id, client_id=party.client_id)
    await hooks_system.bus.request(subjects.REVOCATION_REVOKE_GRANT, request, RevokeGrantReply)
    payload = await _one(receiver, "authorization.revoked")
    assert payload["data"] == {
        "grant": f"{party.client_id}:{party.user.id}",
        "sub": party.user.id,
        "client_id": party.client_id,
        "reason": "user",
    }
    assert payload["timestamp"].endswith("Z")
    log = await WebhooksClient(hooks_system.bus).deliveries(party.client_id)
    assert [d.type for d in log.deliveries] == ["authorization.revoked"]


async def test_a_downgrade_narrows_then_empties_the_grant(hooks_system: System, receiver: Receiver) -> None:
    party = await _party(hooks_system, receiver, plan="business")
    await _tokens(hooks_system, party, scope=ALL)
    registry = RegistryClient(hooks_system.bus)
    await registry.set_plan(party.user.id, "pro", actor="operator")
    narrowed = await _one(receiver, "authorization.narrowed")
    assert narrowed["data"]["removed_scopes"] == ["webhooks:write"]
    assert narrowed["data"]["scope"] == "meetings:read meetings:write"
    assert narrowed["data"]["sub"] == party.user.id and narrowed["data"]["reason"] == "plan"

    receiver2 = await Receiver().start()
    try:
        other = await _party(hooks_system, receiver2, plan="business")  # a grant of webhooks:write only
        await _tokens(hooks_system, other, scope="webhooks:write")
        await registry.set_plan(other.user.id, "free", actor="operator")
        revoked = await _one(receiver2, "authorization.revoked")
        assert revoked["data"]["reason"] == "plan" and revoked["data"]["sub"] == other.user.id
    finally:
        await receiver2.close()


async def test_revoke_all_tokens_sends_one_event_per_user(hooks_system: System, receiver: Receiver) -> None:
    party = await _party(hooks_system, receiver)
    second = Party(party.app, party.secret, await create_account(hooks_system), party.owner)
    await _tokens(hooks_system, party)
    await _tokens(hooks_system, second)
    await RegistryClient(hooks_system.bus).revoke_app_tokens(party.owner.id, party.client_id)
    await until("two tokens.revoked events", lambda: _count(receiver, "tokens.revoked", 2))
    got = [r.payload["data"] for r in receiver.of_type("tokens.revoked") if r.payload]
    assert sorted(d["sub"] for d in got) == sorted([party.user.id, second.user.id])
    assert {d["reason"] for d in got} == {"owner"}


async def test_reuse_sends_tokens_revoked_and_rfc7009_sends_nothing(
    hooks_system: System, receiver: Receiver
) -> None:
    party = await _party(hooks_system, receiver)
    own = await _tokens(hooks_system, party)
    status, _, _ = await token_request(
        hooks_system, {"token": own["refresh_token"], **party.post_auth()}, path="/oauth/revoke"
    )
    assert status == 200  # the app's own revocation: no webhook
    first = await _tokens(hooks_system, party)
    status, _, _ = await refresh(hooks_system, party, first["refresh_token"])
    assert status == 200
    status, _, _ = await refresh(hooks_system, party, first["refresh_token"])  # reuse
    assert status == 400
    payload = await _one(receiver, "tokens.revoked")
    assert payload["data"]["reason"] == "refresh_token_reuse"

    code = await consent_code(hooks_system, party, scope="meetings:read")
    assert (await exchange(hooks_system, party, code))[0] == 200
    assert (await exchange(hooks_system, party, code))[0] == 400  # a used code again: its grant dies
    await until("the code reuse event", lambda: _count(receiver, "tokens.revoked", 2))
    reasons = [r.payload["data"]["reason"] for r in receiver.of_type("tokens.revoked") if r.payload]
    assert reasons == ["refresh_token_reuse", "code_reuse"]
    log = await WebhooksClient(hooks_system.bus).deliveries(party.client_id)
    assert [d.type for d in log.deliveries] == ["tokens.revoked", "tokens.revoked"]  # none for rfc7009


async def _count(receiver: Receiver, kind: str, n: int) -> bool:
    return len(receiver.of_type(kind)) >= n


async def test_a_downgrade_of_a_grant_with_no_live_token_still_says_narrowed(
    hooks_system: System, receiver: Receiver
) -> None:
    party = await _party(hooks_system, receiver, plan="business")
    await consent_code(hooks_system, party, scope=ALL)  # consented, never exchanged
    await RegistryClient(hooks_system.bus).set_plan(party.user.id, "pro", actor="operator")
    narrowed = await _one(receiver, "authorization.narrowed")
    assert narrowed["data"]["removed_scopes"] == ["webhooks:write"]
    log = await WebhooksClient(hooks_system.bus).deliveries(party.client_id)
    assert [d.type for d in log.deliveries] == ["authorization.narrowed"]  # the dead code: no revoked


async def test_revoking_a_grant_with_no_live_token_still_says_revoked(
    hooks_system: System, receiver: Receiver
) -> None:
    party = await _party(hooks_system, receiver)
    pair = await _tokens(hooks_system, party)
    form = {"token": pair["refresh_token"], **party.post_auth()}
    assert (await token_request(hooks_system, form, path="/oauth/revoke"))[0] == 200  # the app's own
    request = RevokeGrantRequest(user_id=party.user.id, client_id=party.client_id)
    reply = await hooks_system.bus.request(subjects.REVOCATION_REVOKE_GRANT, request, RevokeGrantReply)
    assert reply.families_revoked == 0  # the grant (consent) alone ended
    payload = await _one(receiver, "authorization.revoked")
    assert payload["data"]["sub"] == party.user.id and payload["data"]["reason"] == "user"
