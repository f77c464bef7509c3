"""The audit trail: revocations go to the JetStream stream, survive a restart of the revocation service,
come back oldest first, and ``mavio-oauth apps audit CLIENT_ID`` prints one line per event (time, kind,
user, family)."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

from shared import subjects
from shared.events import read_audit
from shared.messages import events as ev
from shared.messages.revocation import (
    RevokeAppReply,
    RevokeAppRequest,
    RevokeGrantReply,
    RevokeGrantRequest,
)
from tests.support.system import System
from tests.support.token_flow import Party, consent_code, exchange, new_party, refresh, token_request

CLI = str(Path(sys.executable).with_name("mavio-oauth"))
LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z  [a-z.]+  actor=\S+  user=\S+  family=\S+(  \S+)?$"
)


async def pair(system: System, party: Party) -> dict[str, str]:
    status, _, body = await exchange(system, party, await consent_code(system, party))
    assert status == 200, body
    return body


async def trail(system: System, client_id: str) -> list[ev.Event]:
    return [event async for _, event in read_audit(system.nc, client_id)]


async def cli(system: System, *args: str) -> tuple[int, str, str]:
    env = {
        **os.environ,
        **system.servers.env("cli"),  # the operator's own bus user
    }
    proc = await asyncio.create_subprocess_exec(
        CLI, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_audit_events_survive_a_restart_of_the_revocation_service(system: System) -> None:
    party = await new_party(system)
    first = await pair(system, party)
    status, _, _ = await token_request(
        system, {"token": first["refresh_token"], **party.post_auth()}, path="/oauth/revoke"
    )
    assert status == 200
    second = await pair(system, party)
    status, _, _ = await refresh(system, party, second["refresh_token"])
    assert status == 200
    status, _, _ = await refresh(system, party, second["refresh_token"])  # replay window: same pair
    await system.bus.request(
        subjects.REVOCATION_REVOKE_GRANT,
        RevokeGrantRequest(user_id=party.user.id, client_id=party.client_id),
        RevokeGrantReply,
    )
    before = await trail(system, party.client_id)
    await system.stop_service("revocation")
    await system.start_service("revocation")
    await pair(system, party)
    reply = await system.bus.request(
        subjects.REVOCATION_REVOKE_APP,
        RevokeAppRequest(client_id=party.client_id, reason="app_revoke_all"),
        RevokeAppReply,
    )
    assert reply.families_revoked >= 1
    after = await trail(system, party.client_id)
    assert after[: len(before)] == before
    revoked = [e for e in after if isinstance(e, ev.TokensRevoked)]
    assert [e.reason for e in revoked] == ["rfc7009", "user_revoked", "app_revoke_all"]
    assert revoked[0].user_id == party.user.id and len(revoked[0].families) == 1
    assert [e.at for e in after] == sorted(e.at for e in after)


async def test_the_cli_prints_one_line_per_event_oldest_first(system: System) -> None:
    party = await new_party(system)
    tokens = await pair(system, party)
    await token_request(system, {"token": tokens["refresh_token"], **party.post_auth()}, path="/oauth/revoke")
    await system.bus.request(
        subjects.REVOCATION_REVOKE_APP,
        RevokeAppRequest(client_id=party.client_id, reason="app_revoke_all", actor=party.owner.id),
        RevokeAppReply,
    )
    code, out, err = await cli(system, "apps", "audit", party.client_id)
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 3, out
    assert all(LINE.match(line) for line in lines), out
    family = tokens["refresh_token"][9:25]
    assert lines[0].split("  ")[1:] == ["app.created", f"actor={party.owner.id}", "user=-", "family=-"]
    assert lines[1].split("  ")[1:] == [
        "tokens.revoked",
        "actor=client",
        f"user={party.user.id}",
        f"family={family}",
        "reason=rfc7009",
    ]
    assert lines[2].split("  ")[1:] == [
        "tokens.revoked",
        f"actor={party.owner.id}",
        "user=-",
        "family=-",
        "reason=app_revoke_all",
    ]
    assert lines == sorted(lines)


async def test_a_new_app_has_only_its_creation_in_its_trail(system: System) -> None:
    party = await new_party(system)
    code, out, err = await cli(system, "apps", "audit", party.client_id)
    assert code == 0 and err == ""
    assert [line.split("  ")[1:] for line in out.splitlines()] == [
        ["app.created", f"actor={party.owner.id}", "user=-", "family=-"]
    ]


async def test_an_app_never_registered_has_an_empty_trail(system: System) -> None:
    code, out, err = await cli(system, "apps", "audit", "mavio_client_NeverRegistered1")
    assert (code, out, err) == (0, "", "")


async def test_the_cli_refuses_a_malformed_client_id(system: System) -> None:
    code, out, err = await cli(system, "apps", "audit", "mavio.oauth.>")
    assert code == 1 and out == ""
    assert "not a client id" in err
