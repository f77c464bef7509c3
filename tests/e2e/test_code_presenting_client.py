"""A leaked code presented with another app's credentials (issue 22), through the gateway's token
endpoint, NATS and Redis: refused with ``invalid_grant`` before anything is consumed or revoked, so the
victim's code still works and the victim's tokens stay active (RFC 6749 §4.1.3); only the code's own
client presenting it again is reuse, and ``CodeReused`` names the presenting client."""

from __future__ import annotations

import asyncio
import time

from nats.aio.msg import Msg

from shared import subjects
from shared.events import decode_event
from shared.messages.events import CodeReused, Event, TokensRevoked
from shared.tokens import parse
from tests.support.system import System
from tests.support.token_flow import bus_verify, consent_code, exchange, new_party


async def test_another_apps_credentials_neither_burn_a_code_nor_revoke_its_grant(system: System) -> None:
    victim, attacker = await new_party(system), await new_party(system)
    seen: list[Event] = []

    async def on_event(msg: Msg) -> None:
        seen.append(decode_event(msg.data))

    sub = await system.nc.subscribe(subjects.EVENTS_ALL, cb=on_event)
    try:
        code = await consent_code(system, victim)
        parsed = parse(code, "code")
        assert parsed is not None
        family = parsed.family
        status, _, body = await exchange(system, attacker, code)  # not used yet
        assert (status, body["error"]) == (400, "invalid_grant")
        status, _, pair = await exchange(system, victim, code)  # the victim's code still works
        assert status == 200, pair
        status, _, body = await exchange(system, attacker, code)  # used: still nothing happens
        assert (status, body["error"]) == (400, "invalid_grant")
        assert (await bus_verify(system, pair["access_token"]))["active"] is True
        status, _, body = await exchange(system, victim, code)  # the victim's client again: reuse
        assert (status, body["error"]) == (400, "invalid_grant")
        assert await bus_verify(system, pair["access_token"]) == {"active": False}
        deadline = time.monotonic() + 5
        while not any(isinstance(e, TokensRevoked) and e.families == [family] for e in seen):
            assert time.monotonic() < deadline, seen
            await asyncio.sleep(0.02)
    finally:
        await sub.unsubscribe()
    reused = [e for e in seen if isinstance(e, CodeReused) and e.family == family]
    assert [(e.client_id, e.presenting_client) for e in reused] == [(victim.client_id, victim.client_id)]
