"""A plan downgrade reaches every code and token of the user, whichever consent it came from: pending
codes whose scopes the new plan lacks die, those within it still work; tokens are narrowed."""

from __future__ import annotations

from shared import subjects
from shared.messages.revocation import PlanChangedReply, PlanChangedRequest
from tests.support.factories import create_account, create_app
from tests.support.system import System
from tests.support.token_flow import Party, bus_verify, consent_code, exchange, refresh

ALL = "meetings:read meetings:write webhooks:write"  # webhooks:write: business; meetings:write: pro


async def plan_changed(system: System, user_id: str, plan: str) -> PlanChangedReply:
    request = PlanChangedRequest(user_id=user_id, plan=plan)
    return await system.bus.request(subjects.REVOCATION_PLAN_CHANGED, request, PlanChangedReply)


async def test_a_downgrade_kills_older_pending_codes_with_removed_scopes(system: System) -> None:
    owner = await create_account(system, name="Developer")
    app, secret = await create_app(system, owner, scopes=ALL.split())
    party = Party(app, secret, await create_account(system, plan="business"), owner)
    status, _, first = await exchange(system, party, await consent_code(system, party, scope=ALL))
    assert status == 200, first
    wide = await consent_code(system, party, scope=ALL)  # kept, not exchanged
    pro = await consent_code(system, party, scope="meetings:read meetings:write")
    narrow = await consent_code(system, party, scope="meetings:read")  # the grant is now meetings:read
    await plan_changed(system, party.user.id, "free")
    status, _, body = await exchange(system, party, wide)
    assert (status, body.get("error")) == (400, "invalid_grant"), body
    status, _, body = await exchange(system, party, pro)
    assert (status, body.get("error")) == (400, "invalid_grant"), body
    status, _, body = await exchange(system, party, narrow)
    assert status == 200 and body["scope"] == "meetings:read", body
    assert (await bus_verify(system, first["access_token"]))["scope"] == "meetings:read"
    status, _, body = await refresh(system, party, first["refresh_token"])
    assert status == 200 and body["scope"] == "meetings:read", body


async def test_a_downgrade_keeps_pending_codes_the_new_plan_allows(system: System) -> None:
    owner = await create_account(system, name="Developer")
    app, secret = await create_app(system, owner, scopes=ALL.split())
    party = Party(app, secret, await create_account(system, plan="business"), owner)
    code = await consent_code(system, party, scope="meetings:read meetings:write")
    await plan_changed(system, party.user.id, "pro")  # webhooks:write goes; nothing of this code
    status, _, body = await exchange(system, party, code)
    assert status == 200 and body["scope"] == "meetings:read meetings:write", body
