"""Commands are not events, on real servers: revocation's work comes from a durable queue, so a deletion
or a downgrade made while revocation is away is answered "pending" and carried out once it is back; no
observer may join a service's queue group; JetStream is written only by the ``audit`` user, the audit
stream refuses purges, and its reader skips a record it cannot decode."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import nats.errors
import nats.js.errors
import pytest
from nats.js import api

from shared import subjects
from shared.commands import pending_commands
from shared.events import AUDIT_STREAM, audit_subject, ensure_audit_stream, read_audit
from shared.registry_client import RegistryClient
from tests.support.bus_users import connect_as
from tests.support.factories import create_account, create_app, new_http, sign_in
from tests.support.polling import until
from tests.support.system import System, running_system
from tests.support.token_flow import Party, bus_verify, consent_code, exchange

CLI = str(Path(sys.executable).with_name("mavio-oauth"))
ALL = "meetings:read meetings:write webhooks:write"


@pytest.fixture(scope="module")
async def sut() -> AsyncIterator[System]:
    async with running_system({"MAVIO_BUS_TIMEOUT": "2"}) as system:
        yield system


async def party_with_tokens(
    system: System, *, plan: str = "free", scope: str = "meetings:read"
) -> tuple[Party, str]:
    owner = await create_account(system, name="Developer")
    app, secret = await create_app(system, owner, scopes=ALL.split())
    user = await create_account(system, plan=plan)
    party = Party(app, secret, user, owner)
    status, _, pair = await exchange(system, party, await consent_code(system, party, scope=scope))
    assert status == 200, pair
    return party, str(pair["access_token"])


async def test_an_observer_cannot_join_a_services_queue_group(sut: System) -> None:
    errors: list[str] = []
    resource = await connect_as(sut, "resource", errors)
    token = await connect_as(sut, "token", errors)
    try:
        await resource.subscribe(subjects.EVENT_APP_DELETED)  # observing events is allowed
        await resource.flush()
        assert errors == []
        await resource.subscribe(subjects.EVENT_APP_DELETED, queue="revocation")
        await resource.subscribe(subjects.EVENT_PLAN_CHANGED, queue="anything")
        await token.subscribe(subjects.EVENT_APP_CHANGED, queue="revocation")  # a service neither, elsewhere
        await token.subscribe(subjects.REVOCATION_REVOKE, queue="token")
        for nc in (resource, token):
            await nc.flush()

        async def refused() -> bool:
            return sum("permissions violation for subscription" in e.lower() for e in errors) >= 4

        await until("the server refused every queue subscription", refused, timeout=10)
    finally:
        await resource.close()
        await token.close()


async def test_the_services_own_users_have_no_jetstream_rights(sut: System) -> None:
    for user in ("token", "registry", "revocation"):  # the services that write the trail
        errors: list[str] = []
        nc = await connect_as(sut, user, errors)
        try:
            with pytest.raises((nats.errors.Error, TimeoutError)):
                await nc.request(f"$JS.API.STREAM.INFO.{AUDIT_STREAM}", b"", timeout=1)
            with pytest.raises((nats.errors.Error, TimeoutError)):
                await nc.request(audit_subject("app_x"), b"{}", timeout=1)
        finally:
            await nc.close()
        assert any("permissions violation for publish" in e.lower() for e in errors), (user, errors)


async def test_the_audit_stream_refuses_purges_and_an_existing_stream_takes_the_rule(sut: System) -> None:
    js = sut.nc.jetstream()
    await js.delete_stream(AUDIT_STREAM)  # as it was before: no deny rules
    old = api.StreamConfig(
        name=AUDIT_STREAM, subjects=[f"{subjects.PREFIX}.audit.>"], storage=api.StorageType.FILE
    )
    await js.add_stream(old)
    await js.publish(audit_subject("app_old"), b"{}", stream=AUDIT_STREAM)
    await ensure_audit_stream(sut.nc)
    config = (await js.stream_info(AUDIT_STREAM)).config
    assert config.deny_purge is True and config.deny_delete is True
    with pytest.raises(nats.js.errors.Error):
        await js.purge_stream(AUDIT_STREAM)
    with pytest.raises(nats.js.errors.Error):
        await js.delete_msg(AUDIT_STREAM, 1)
    assert (await js.stream_info(AUDIT_STREAM)).state.messages >= 1


async def test_a_record_that_is_not_an_event_is_skipped_and_reported(sut: System) -> None:
    owner = await create_account(sut)
    app, _ = await create_app(sut, owner)  # AppCreated
    js = sut.nc.jetstream()
    junk = await js.publish(audit_subject(app.client_id), b"{}", stream=AUDIT_STREAM)
    await RegistryClient(sut.bus).regenerate_secret(owner.id, app.client_id)  # SecretRegenerated
    kinds = [type(e).__name__ async for _, e in read_audit(sut.nc, app.client_id)]  # no crash
    assert kinds == ["AppCreated", "SecretRegenerated"]
    proc = await asyncio.create_subprocess_exec(
        CLI,
        "apps",
        "audit",
        app.client_id,
        env={**os.environ, **sut.servers.env("cli")},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err
    assert len(out.decode().splitlines()) == 2
    assert f"skipped 1 unreadable audit record(s): stream seq {junk.seq}" in err.decode()
    skipped: list[int] = []
    assert len([e async for e in read_audit(sut.nc, app.client_id, skipped=skipped)]) == 2
    assert skipped == [junk.seq]


async def test_an_app_deleted_while_revocation_is_down_is_revoked_once_it_is_back(sut: System) -> None:
    party, access = await party_with_tokens(sut)
    assert (await bus_verify(sut, access))["active"] is True
    http = new_http()
    await sign_in(sut, http, party.owner.email)
    await sut.stop_service("revocation")
    try:
        async with http.delete(sut.url(f"/api/v1/oauth-apps/{party.client_id}"), json={}) as resp:
            status, body = resp.status, await resp.json()
        assert status == 202, body
        assert body["deleted"] is True and body["revocation"] == "pending"
        assert await pending_commands(sut.nc) == 1
        status = await asyncio.create_subprocess_exec(
            CLI, "status", env={**os.environ, **sut.servers.env("cli")}, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await asyncio.wait_for(status.communicate(), 60)
        assert status.returncode == 1  # revocation is not answering
        assert out.decode().splitlines()[-1] == "revocation commands pending: 1"
    finally:
        await http.close()
        await sut.start_service("revocation")

    async def revoked() -> bool:
        return (await bus_verify(sut, access))["active"] is False

    await until("the deleted app's token is revoked", revoked, timeout=60)
    await until("the queue is empty", lambda: _empty(sut), timeout=60)


async def test_a_plan_change_while_revocation_is_down_is_pending_and_applied_later(sut: System) -> None:
    party, access = await party_with_tokens(sut, plan="business", scope=ALL)
    await sut.stop_service("revocation")
    try:
        changed = await RegistryClient(sut.bus).set_plan(party.user.id, "free")
        assert changed.narrowed is None and changed.account.plan == "free"
    finally:
        await sut.start_service("revocation")

    async def narrowed() -> bool:
        info = await bus_verify(sut, access)
        return info["active"] is False or info.get("scope") == "meetings:read"

    await until("the downgrade narrowed the token", narrowed, timeout=60)
    assert changed.pending is True  # and the reply said so


async def test_when_revocation_answers_in_time_the_replies_are_as_before(sut: System) -> None:
    party, access = await party_with_tokens(sut, plan="business", scope=ALL)
    changed = await RegistryClient(sut.bus).set_plan(party.user.id, "pro")
    assert changed.pending is False and changed.narrowed is not None and changed.narrowed.grants_narrowed == 1
    http = new_http()
    await sign_in(sut, http, party.owner.email)
    try:
        url = sut.url(f"/api/v1/oauth-apps/{party.client_id}")
        async with http.post(url + "/revoke-tokens", json={}) as resp:
            assert resp.status == 200 and (await resp.json())["families_revoked"] == 1
        async with http.delete(url, json={}) as resp:
            body = await resp.json()
            assert resp.status == 200 and "revocation" not in body and body["families_revoked"] == 0
    finally:
        await http.close()
    assert (await bus_verify(sut, access))["active"] is False


async def _empty(system: System) -> bool:
    return await pending_commands(system.nc) == 0
