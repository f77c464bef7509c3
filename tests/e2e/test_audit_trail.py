"""The app audit trail as an operator reads it (``mavio-oauth apps audit``) after everything a developer,
a user, Mavio billing and the server itself can do to an app, each entry with its actor, never a secret."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path
from typing import Any

from shared import subjects
from shared.messages.registry import SetPlanReply, SetPlanRequest
from shared.registry_client import RegistryClient
from tests.support.factories import create_account, signed_in_client
from tests.support.system import System
from tests.support.token_flow import Party, consent_code, exchange

CLI = str(Path(sys.executable).with_name("mavio-oauth"))
API = "/api/v1/oauth-apps"
APP = {
    "name": "Audited App",
    "homepage_url": "https://audited.example",
    "redirect_uris": ["https://audited.example/cb"],
    "scopes": ["meetings:read", "meetings:write"],
}
SECRETISH = re.compile(r"mavio_(cs|at|rt|code)_")


async def audit(system: System, client_id: str) -> list[list[str]]:
    proc = await asyncio.create_subprocess_exec(
        CLI,
        "apps",
        "audit",
        client_id,
        env={**os.environ, **system.servers.env("cli")},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err
    assert not SECRETISH.search(out.decode())
    return [line.split("  ")[1:] for line in out.decode().splitlines()]


async def call(http: Any, method: str, url: str, **kw: Any) -> dict[str, Any]:
    async with http.request(method, url, **kw) as resp:
        assert resp.status in (200, 201), (resp.status, await resp.text())
        return dict(await resp.json())


async def test_every_change_to_an_app_is_in_its_trail_with_its_actor(system: System) -> None:
    http, owner = await signed_in_client(system)
    async with http:
        created = await call(http, "POST", system.url(API), json=APP)
        client_id = created["client_id"]
        url = system.url(f"{API}/{client_id}")
        await call(
            http, "PATCH", url, json={"name": "Audited App 2", "require_pkce": False, "scopes": APP["scopes"]}
        )
        await call(http, "PATCH", url, json={"description": "now described", "require_pkce": True})
        secret = (await call(http, "POST", url + "/secret", json={}))["client_secret"]
        app = await RegistryClient(system.bus).get_app(client_id)
        user = await create_account(system, plan="pro")
        party = Party(app, secret, user, owner)
        challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        code = await consent_code(system, party, scope="meetings:read meetings:write", challenge=challenge)
        verifier = {"code_verifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"}
        assert (await exchange(system, party, code, **verifier))[0] == 200
        assert (await exchange(system, party, code, **verifier))[0] == 400  # reuse: the family goes
        await exchange(
            system,
            party,
            await consent_code(system, party, scope="meetings:read meetings:write", challenge=challenge),
            **verifier,
        )
        narrowed = await system.bus.request(
            subjects.REGISTRY_SET_PLAN, SetPlanRequest(user_id=user.id, plan="free"), SetPlanReply
        )
        assert narrowed.narrowed is not None
        await call(http, "POST", url + "/revoke-tokens", json={})
        await call(http, "DELETE", url, json={})
    trail = await audit(system, client_id)
    kinds = [(line[0], line[1]) for line in trail]
    assert kinds[:4] == [
        ("app.created", f"actor={owner.id}"),
        ("app.changed", f"actor={owner.id}"),
        ("app.changed", f"actor={owner.id}"),
        ("secret.regenerated", f"actor={owner.id}"),
    ]
    assert trail[1][-1] == "fields=name" and trail[2][-1] == "fields=description,require_pkce"
    assert ("code.reused", "actor=system") in kinds
    assert [line[:2] for line in trail if line[-1] == "reason=code_reused"] == [
        ["tokens.revoked", "actor=system"]
    ]
    assert ("scopes.narrowed", "actor=billing") in kinds
    assert [line[:2] for line in trail if line[-1] == "reason=app_revoke_all"] == [
        ["tokens.revoked", f"actor={owner.id}"]
    ]
    assert ("app.deleted", f"actor={owner.id}") in kinds
    assert [line[:2] for line in trail if line[-1] == "reason=app_deleted"] == [
        ["tokens.revoked", f"actor={owner.id}"]
    ]
    assert not [line for line in trail if line[-1] == "reason=plan"]  # nothing live lacked the plan's scopes
