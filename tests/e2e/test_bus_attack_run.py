"""Issue 22's attack run, end to end on real servers, with the credentials a local resource server is
given (bus user ``resource``): 30 queue subscriptions trying to join revocation's queue on the events
it used to take its work from, requests whose reply subjects name the audit stream's purge and
deletion, an app's audit subject and the events; then an operator downgrade (``mavio-oauth users
set-plan victim free``) and an app deletion. The audit trail stays whole and readable, and every
deletion and downgrade is revoked."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import nats
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from shared import bus_auth, subjects
from shared.events import AUDIT_STREAM, audit_subject, read_audit
from tests.support.factories import create_account, create_app, new_http, sign_in
from tests.support.system import System
from tests.support.token_flow import Party, bus_verify, consent_code, exchange

CLI = str(Path(sys.executable).with_name("mavio-oauth"))
ALL = "meetings:read meetings:write webhooks:write"
REPLIES = (
    f"$JS.API.STREAM.PURGE.{AUDIT_STREAM}",
    f"$JS.API.STREAM.DELETE.{AUDIT_STREAM}",
    subjects.EVENT_APP_DELETED,
    subjects.EVENT_SECRET_REGENERATED,
)


async def as_resource(system: System, stolen: list[Msg]) -> NATS:
    env = system.servers.env("resource")
    nc = await nats.connect(
        system.servers.nats_url,
        user=env["MAVIO_NATS_USER"],
        password=env["MAVIO_NATS_PASSWORD"],
        inbox_prefix=bus_auth.inbox_prefix("resource"),
        allow_reconnect=False,
    )

    async def steal(msg: Msg) -> None:  # takes the work and never answers
        stolen.append(msg)

    for i in range(30):
        subject = subjects.EVENT_PLAN_CHANGED if i % 2 else subjects.EVENT_APP_DELETED
        await nc.subscribe(subject, queue="revocation", cb=steal)
    await nc.flush()
    return nc


async def party(system: System, *, plan: str, scope: str) -> tuple[Party, str]:
    owner = await create_account(system, name="Developer")
    app, secret = await create_app(system, owner, scopes=ALL.split())
    user = await create_account(system, plan=plan)
    who = Party(app, secret, user, owner)
    status, _, pair = await exchange(system, who, await consent_code(system, who, scope=scope))
    assert status == 200, pair
    return who, str(pair["access_token"])


async def trail(system: System, client_id: str) -> list[str]:
    """The app's trail as event kinds; every record of its subject is one of them (no junk)."""
    kinds = [type(e).__name__ async for _, e in read_audit(system.nc, client_id)]
    subject = audit_subject(client_id)
    info = await system.nc.jetstream().stream_info(AUDIT_STREAM, subjects_filter=subject)
    assert (info.state.subjects or {}).get(subject, 0) == len(kinds)
    return kinds


async def test_the_attack_run_leaves_the_trail_whole_and_every_deletion_and_downgrade_revoked(
    system: System,
) -> None:
    victim, victim_token = await party(system, plan="business", scope=ALL)
    doomed, doomed_token = await party(system, plan="free", scope="meetings:read")
    before = await trail(system, doomed.client_id)
    assert before and before[0] == "AppCreated"
    stolen: list[Msg] = []
    attacker = await as_resource(system, stolen)
    try:
        for reply in (*REPLIES, audit_subject(doomed.client_id)):
            await attacker.publish(subjects.TOKEN_CALLS, b'{"calls":{}}', reply=reply)
            await attacker.publish(subjects.TOKEN_VERIFY, b'{"token":"x"}', reply=reply)
        await attacker.flush()
        # the operator downgrades the victim
        proc = await asyncio.create_subprocess_exec(
            CLI,
            "users",
            "set-plan",
            victim.user.email,
            "free",
            env={**os.environ, **system.servers.env("cli")},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0 and b"grants narrowed: 1" in out, (out, err)
        # the owner deletes an app
        http = new_http()
        try:
            await sign_in(system, http, doomed.owner.email)
            async with http.delete(system.url(f"/api/v1/oauth-apps/{doomed.client_id}"), json={}) as resp:
                body = await resp.json()
                assert resp.status == 200 and body["families_revoked"] == 1, body
        finally:
            await http.close()
    finally:
        await attacker.close()
    assert stolen == []  # the server refused every queue subscription
    assert (await bus_verify(system, victim_token)).get("scope") == "meetings:read"
    assert (await bus_verify(system, doomed_token))["active"] is False
    after = await trail(system, doomed.client_id)  # whole, readable, nothing purged or injected
    assert after[: len(before)] == before and after[len(before) :] == ["AppDeleted", "TokensRevoked"]
    info = await system.nc.jetstream().stream_info(AUDIT_STREAM)
    assert info.config.deny_purge and info.state.first_seq == 1
