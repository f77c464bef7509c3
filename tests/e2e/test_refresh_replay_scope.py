"""The refresh replay window through the gateway's token endpoint, NATS, Redis and the audit stream
(issue 22, RFC 9700 §4.14.2): a replay gets the successor pair only when it asks for the scope the
rotation issued; another scope gets ``invalid_grant`` and revokes nothing; every replay is in the app's
audit trail as ``refresh.replayed``, the refused one marked suspicious."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.token.replay_audit import AUDITED_SCOPE_MAX, CUT
from shared.events import AUDIT_STREAM, audit_subject, read_audit
from shared.messages.events import RefreshReplayed
from shared.tokens import parse
from tests.support.polling import eventually
from tests.support.system import System, running_system
from tests.support.token_flow import bus_verify, new_party, refresh, tokens_for

SCOPE = "meetings:read users:read"


@pytest.fixture(scope="module")
async def windowed() -> AsyncIterator[System]:
    """A replay window far longer than any of these tests takes (the window is not what they time)."""
    async with running_system({"MAVIO_REFRESH_REPLAY_WINDOW": "300"}) as sut:
        yield sut


async def replays_audited(system: System, client_id: str, count: int) -> list[RefreshReplayed]:
    """The app's ``refresh.replayed`` records, once ``count`` are there (published in the background)."""

    async def read() -> list[RefreshReplayed]:
        return [e async for _, e in read_audit(system.nc, client_id) if isinstance(e, RefreshReplayed)]

    return await eventually(read, lambda events: len(events) >= count, timeout=10.0)


async def test_a_replay_asking_another_scope_is_refused_audited_and_revokes_nothing(windowed: System) -> None:
    party = await new_party(windowed)
    first = await tokens_for(windowed, party, scope=SCOPE)
    status, _, second = await refresh(windowed, party, first["refresh_token"])
    assert status == 200 and second["scope"] == SCOPE
    for asked in ("meetings:read", "meetings:read users:read recordings:read"):
        status, _, body = await refresh(windowed, party, first["refresh_token"], scope=asked)
        assert (status, body.get("error")) == (400, "invalid_grant"), asked
    assert (await bus_verify(windowed, second["access_token"]))["active"] is True  # nothing revoked
    for asked in ("", "users:read meetings:read"):  # the same scope, however it is written
        status, _, again = await refresh(windowed, party, first["refresh_token"], scope=asked)
        assert status == 200 and again == second, asked
    status, _, third = await refresh(windowed, party, second["refresh_token"])  # the grant lives on
    assert status == 200 and third["scope"] == SCOPE
    parsed = parse(first["refresh_token"], "rt")
    assert parsed is not None
    audited = [
        (e.family, e.user_id, e.scope, e.requested, e.suspicious, e.actor)
        for e in await replays_audited(windowed, party.client_id, 3)
    ]
    family, user = parsed.family, party.user.id
    assert audited == [
        (family, user, SCOPE, "meetings:read", True, "client"),
        (family, user, SCOPE, "meetings:read users:read recordings:read", True, "client"),
        (family, user, SCOPE, "", False, "client"),
        (family, user, SCOPE, "users:read meetings:read", False, "client"),
    ]


async def test_a_replay_of_a_narrowed_rotation_must_ask_the_same_narrowing(windowed: System) -> None:
    party = await new_party(windowed)
    first = await tokens_for(windowed, party, scope=SCOPE)
    status, _, second = await refresh(windowed, party, first["refresh_token"], scope="users:read")
    assert status == 200 and second["scope"] == "users:read"
    status, _, body = await refresh(windowed, party, first["refresh_token"])  # the token's own scope
    assert (status, body.get("error")) == (400, "invalid_grant")
    status, _, again = await refresh(windowed, party, first["refresh_token"], scope="users:read")
    assert status == 200 and again == second
    assert [e.suspicious for e in await replays_audited(windowed, party.client_id, 2)] == [True, False]


async def test_a_replay_cannot_write_a_long_scope_into_the_audit_trail(windowed: System) -> None:
    """The audit stream is shared by every app and drops its oldest records when full: a client's
    suspicious replays, each asking for a 4 KB scope of made-up names (what the form allows), must not
    write 4 KB records (some 250,000 such replays would push every app's older records out of 1 GiB).
    The recorded ``requested`` scope is cut at ``AUDITED_SCOPE_MAX`` characters, marked as cut."""
    party = await new_party(windowed)
    first = await tokens_for(windowed, party, scope=SCOPE)
    status, _, _ = await refresh(windowed, party, first["refresh_token"])
    assert status == 200
    asked = " ".join(f"s{i}" for i in range(900))[:4000].strip()
    status, _, body = await refresh(windowed, party, first["refresh_token"], scope=asked)
    assert (status, body.get("error")) == (400, "invalid_grant")
    [event] = await replays_audited(windowed, party.client_id, 1)
    assert event.suspicious and len(event.requested) <= AUDITED_SCOPE_MAX + len(CUT)
    assert event.requested.endswith(CUT) and asked.startswith(event.requested.removesuffix(CUT))
    record = await windowed.nc.jetstream().get_last_msg(AUDIT_STREAM, audit_subject(party.client_id))
    assert len(record.data or b"") < 1024, record.data
