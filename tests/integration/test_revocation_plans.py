"""Plan changes narrow a user's grants: tokens carrying removed scopes stop verifying for them at once
(on the bus and in a verification cache), a grant left with no scope is revoked; both from Mavio billing
(a request on the bus) and from the operator CLI (its plan-changed event)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import msgspec
import pytest
from nats.aio.msg import Msg

from shared import subjects
from shared.errors import InvalidRequest, NotFound
from shared.grants import keys as grant_keys
from shared.grants.records import GrantRecord
from shared.messages import events as ev
from shared.messages.revocation import PlanChangedReply, PlanChangedRequest
from shared.registry_client import RegistryClient
from shared.verify_client import TokenVerifier
from tests.support.factories import create_account, create_app
from tests.support.polling import eventually
from tests.support.system import System
from tests.support.token_flow import Party, bus_verify, consent_code, exchange, refresh

ALL = "meetings:read meetings:write webhooks:write"
CLI = str(Path(sys.executable).with_name("mavio-oauth"))


async def business_party(system: System) -> Party:
    owner = await create_account(system, name="Developer")
    app, secret = await create_app(system, owner, scopes=ALL.split())
    user = await create_account(system, plan="business")
    return Party(app, secret, user, owner)


async def grant(system: System, party: Party, scope: str) -> dict[str, str]:
    status, _, body = await exchange(system, party, await consent_code(system, party, scope=scope))
    assert status == 200, body
    return body


async def plan_changed(system: System, user_id: str, plan: str) -> PlanChangedReply:
    return await system.bus.request(
        subjects.REVOCATION_PLAN_CHANGED, PlanChangedRequest(user_id=user_id, plan=plan), PlanChangedReply
    )


async def test_a_downgrade_narrows_tokens_at_once_everywhere(system: System) -> None:
    party = await business_party(system)
    pair = await grant(system, party, ALL)
    verifier = TokenVerifier(system.nc, cache_ttl=60)
    await verifier.start()
    narrowed: asyncio.Queue[Msg] = asyncio.Queue()
    sub = await system.nc.subscribe(subjects.event("scopes", "narrowed"), cb=narrowed.put)
    try:
        assert (await verifier.verify(pair["access_token"])).scope == ALL
        reply = await plan_changed(system, party.user.id, "pro")
        assert (reply.families_narrowed, reply.grants_narrowed, reply.grants_revoked) == (1, 1, 0)
        assert (await bus_verify(system, pair["access_token"]))["scope"] == "meetings:read meetings:write"
        info = await eventually(
            lambda: verifier.verify(pair["access_token"]), lambda i: i.scope != ALL, timeout=0.1
        )
        assert info.active and info.scope == "meetings:read meetings:write"
        event = msgspec.json.decode((await asyncio.wait_for(narrowed.get(), 5)).data, type=ev.Event)
        assert isinstance(event, ev.ScopesNarrowed)
        assert (event.client_id, event.user_id, event.scope) == (
            party.client_id,
            party.user.id,
            "meetings:read meetings:write",
        )
    finally:
        await sub.unsubscribe()
        await verifier.close()
    raw = await system.redis.hget(grant_keys.user_grants(party.user.id), party.client_id)
    assert msgspec.json.decode(raw, type=GrantRecord).scope == "meetings:read meetings:write"
    status, _, body = await refresh(system, party, pair["refresh_token"])
    assert status == 200 and body["scope"] == "meetings:read meetings:write"
    status, _, body = await refresh(system, party, body["refresh_token"], scope="webhooks:write")
    assert (status, body["error"]) == (400, "invalid_scope")


async def test_a_grant_left_without_scope_is_revoked(system: System) -> None:
    party = await business_party(system)
    kept = await grant(system, party, "meetings:write")
    reply = await plan_changed(system, party.user.id, "free")
    assert (reply.families_revoked, reply.grants_revoked) == (1, 1)
    assert (await bus_verify(system, kept["access_token"])) == {"active": False}
    status, _, body = await refresh(system, party, kept["refresh_token"])
    assert (status, body["error"]) == (400, "invalid_grant")
    assert not await system.redis.hexists(grant_keys.user_grants(party.user.id), party.client_id)
    assert await system.redis.hlen(grant_keys.app_grant_users(party.client_id)) == 0


async def test_an_older_family_with_only_removed_scopes_is_revoked_the_rest_narrowed(system: System) -> None:
    party = await business_party(system)
    old = await grant(system, party, "webhooks:write")
    new = await grant(system, party, ALL)
    reply = await plan_changed(system, party.user.id, "pro")
    assert (reply.families_revoked, reply.families_narrowed, reply.grants_revoked) == (1, 1, 0)
    assert (await bus_verify(system, old["access_token"])) == {"active": False}
    assert (await bus_verify(system, new["access_token"]))["scope"] == "meetings:read meetings:write"
    assert await system.redis.hget(grant_keys.app_grant_users(party.client_id), party.user.id) == b"1"


async def test_an_upgrade_changes_nothing(system: System) -> None:
    party = await business_party(system)
    pair = await grant(system, party, "meetings:read")
    reply = await plan_changed(system, party.user.id, "business")
    assert reply == PlanChangedReply(
        families_narrowed=0, families_revoked=0, grants_narrowed=0, grants_revoked=0
    )
    assert (await bus_verify(system, pair["access_token"]))["scope"] == "meetings:read"


async def test_an_unknown_plan_is_refused(system: System) -> None:
    with pytest.raises(InvalidRequest):  # an unknown plan is never accepted
        await plan_changed(system, "usr_x", "platinum")


async def test_a_billing_plan_change_updates_the_account_before_narrowing(system: System) -> None:
    party = await business_party(system)
    pair = await grant(system, party, ALL)
    reply = await plan_changed(system, party.user.id, "pro")
    assert (reply.grants_narrowed, reply.grants_revoked) == (1, 0)
    account = await RegistryClient(system.bus).get_account(party.user.id)
    assert account.plan == "pro"  # new authorizations are checked against the new plan
    info = await bus_verify(system, pair["access_token"])
    assert info["active"] is True and info["scope"] == "meetings:read meetings:write"


async def test_a_billing_plan_change_for_an_unknown_user_is_refused(system: System) -> None:
    with pytest.raises(NotFound):  # a plan change for an unknown user is never accepted
        await plan_changed(system, "usr_doesnotexist00", "pro")


async def test_the_operator_cli_plan_change_narrows_grants(system: System) -> None:
    party = await business_party(system)
    pair = await grant(system, party, ALL)
    env = {
        **os.environ,
        **system.servers.env("cli"),  # the operator's own bus user
    }
    proc = await asyncio.create_subprocess_exec(
        CLI, "users", "set-plan", party.user.email, "free", env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, out
    info = await eventually(
        lambda: bus_verify(system, pair["access_token"]),
        lambda i: i.get("scope") == "meetings:read",
        timeout=5,
    )
    assert info["active"] is True


async def test_a_code_not_yet_exchanged_of_a_narrowed_grant_is_revoked(system: System) -> None:
    party = await business_party(system)
    exchanged = await grant(system, party, ALL)
    pending = await consent_code(system, party, scope=ALL)
    await plan_changed(system, party.user.id, "pro")
    status, _, body = await exchange(system, party, pending)
    assert (status, body["error"]) == (400, "invalid_grant")
    assert (await bus_verify(system, exchanged["access_token"]))["scope"] == "meetings:read meetings:write"


async def test_the_registry_owns_a_plan_change_and_its_event_names_the_real_previous_plan(
    system: System,
) -> None:
    """Issue 9: the registry records the plan once and announces it; revocation reacts and the reply
    says what it narrowed. The event's ``previous_plan`` is the plan before, from either subject."""
    party = await business_party(system)
    await grant(system, party, ALL)
    seen: asyncio.Queue[ev.Event] = asyncio.Queue()

    async def record(msg: Msg) -> None:
        await seen.put(msgspec.json.decode(msg.data, type=ev.Event))

    sub = await system.nc.subscribe(subjects.EVENT_PLAN_CHANGED, cb=record)
    await system.nc.flush()
    try:
        changed = await RegistryClient(system.bus).set_plan(party.user.id, "pro")
        assert (changed.previous_plan, changed.account.plan) == ("business", "pro")
        assert changed.narrowed is not None and changed.narrowed.grants_narrowed == 1
        event = await asyncio.wait_for(seen.get(), 5)
        assert isinstance(event, ev.PlanChanged)
        assert (event.previous_plan, event.plan) == ("business", "pro")
        await plan_changed(system, party.user.id, "free")  # billing's older subject
        event = await asyncio.wait_for(seen.get(), 5)
        assert isinstance(event, ev.PlanChanged)
        assert (event.previous_plan, event.plan) == ("pro", "free")
        assert seen.empty()
    finally:
        await sub.unsubscribe()
