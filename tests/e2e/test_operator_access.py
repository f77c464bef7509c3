"""What the operator's CLI does to a user's grants, as the audit trail (and so the webhooks service) sees
it: ``mavio-oauth users revoke-access EMAIL [--app CLIENT_ID]`` revokes through the revocation service
with reason ``operator`` and actor ``operator``; ``users set-plan`` narrows a grant (``removed=`` the
scopes taken away) or revokes one left empty (reason ``plan``)."""

from __future__ import annotations

from tests.e2e.test_audit_trail import audit
from tests.integration.test_cli import run
from tests.support.factories import create_account, create_app
from tests.support.polling import eventually
from tests.support.system import System
from tests.support.token_flow import Party, bus_verify, consent_code, exchange

WIDE = "meetings:read meetings:write webhooks:write"


async def authorized(
    system: System, user_plan: str, scope: str, *, user: Party | None = None
) -> tuple[Party, str]:
    """A new app the user (new, or ``user``'s) authorized for ``scope``, and its access token."""
    owner = await create_account(system, name="Developer")
    app, secret = await create_app(system, owner, scopes=WIDE.split())
    account = user.user if user is not None else await create_account(system, plan=user_plan)
    party = Party(app, secret, account, owner)
    status, _, pair = await exchange(system, party, await consent_code(system, party, scope=scope))
    assert status == 200, pair
    return party, pair["access_token"]


async def active(system: System, token: str) -> bool:
    return bool((await bus_verify(system, token)).get("active"))


async def trail_with(system: System, client_id: str, detail: str) -> list[list[str]]:
    async def lines() -> list[list[str]]:
        return [line for line in await audit(system, client_id) if line[-1] == detail]

    return await eventually(lines)


async def test_revoke_access_to_one_app_then_to_every_app(system: System) -> None:
    first, first_token = await authorized(system, "pro", "meetings:read")
    second, second_token = await authorized(system, "pro", "meetings:read", user=first)
    code, out, err = await run(system, "users", "revoke-access", first.user.email, "--app", first.client_id)
    assert code == 0, err
    assert f"access revoked to 1 app(s) ({first.client_id})" in out
    assert not await active(system, first_token) and await active(system, second_token)
    revoked = await trail_with(system, first.client_id, "reason=operator")
    assert [line[:3] for line in revoked] == [["tokens.revoked", "actor=operator", f"user={first.user.id}"]]
    code, out, err = await run(system, "users", "revoke-access", first.user.email)
    assert code == 0, err and second.client_id in out
    assert not await active(system, second_token)
    assert (await trail_with(system, second.client_id, "reason=operator"))[0][1] == "actor=operator"


async def test_revoke_access_refuses_an_unknown_user_or_a_malformed_app(system: System) -> None:
    code, _, err = await run(system, "users", "revoke-access", "nobody-here@example.com")
    assert code == 1 and err.startswith("mavio-oauth: error:") and "Traceback" not in err
    account = await create_account(system)
    code, _, err = await run(system, "users", "revoke-access", account.email, "--app", "not a client")
    assert code == 1 and "not a client id" in err


async def test_a_plan_change_names_the_scopes_it_removed_and_revokes_an_emptied_grant(system: System) -> None:
    narrowed, narrowed_token = await authorized(system, "business", WIDE)
    emptied, emptied_token = await authorized(system, "business", "webhooks:write", user=narrowed)
    code, out, err = await run(system, "users", "set-plan", narrowed.user.email, "free")
    assert code == 0, err
    assert "grants narrowed: 1, grants revoked: 1" in out, out
    assert (await bus_verify(system, narrowed_token))["scope"] == "meetings:read"
    assert not await active(system, emptied_token)
    detail = ["scope=meetings:read", "removed=meetings:write,webhooks:write"]
    lines = await eventually(
        lambda: audit(system, narrowed.client_id), lambda t: any(line[-2:] == detail for line in t)
    )
    assert ["scopes.narrowed", "actor=operator"] in [line[:2] for line in lines if line[-2:] == detail]
    revoked = await trail_with(system, emptied.client_id, "reason=plan")
    assert revoked[0][:2] == ["tokens.revoked", "actor=operator"]
