"""Refresh rotation under races and after the replay window, and expiry of codes, access and refresh
tokens, each in a dedicated system with short settings (real NATS, Redis, every service, the gateway)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from nats.aio.msg import Msg

from shared import subjects
from shared.events import decode_event
from shared.grants import keys as grant_keys
from shared.messages.events import Event, RefreshReused, TokensRevoked
from tests.support.polling import eventually
from tests.support.system import System, running_system
from tests.support.token_flow import bus_verify, consent_code, exchange, new_party, refresh, tokens_for


@pytest.fixture(scope="module")
async def windowed() -> AsyncIterator[System]:
    """A one-second refresh replay window."""
    async with running_system({"MAVIO_REFRESH_REPLAY_WINDOW": "1"}) as sut:
        yield sut


@pytest.fixture(scope="module")
async def short_lived() -> AsyncIterator[System]:
    """Tokens and codes that expire in seconds, and no replay window (any reuse revokes)."""
    env = {
        # Lifetimes leave at least 2 s between a token's last check as live and its expiry (issuance
        # stamps whole seconds, so an access token may lose up to 1 s of its TTL), however slow the run.
        "MAVIO_ACCESS_TOKEN_TTL": "3",
        "MAVIO_REFRESH_TOKEN_TTL": "4",
        "MAVIO_CODE_TTL": "1",
        "MAVIO_REFRESH_REPLAY_WINDOW": "0",
    }
    async with running_system(env) as sut:
        yield sut


async def gone(system: System, pattern: str) -> None:
    """Wait until no key matches ``pattern`` (what expires with a TTL is gone once its time is up)."""

    async def left() -> list[bytes]:
        return [key async for key in system.redis.scan_iter(match=pattern)]

    await eventually(left, lambda keys: not keys)


async def collect_events(system: System) -> tuple[list[Event], object]:
    seen: list[Event] = []

    async def on_event(msg: Msg) -> None:
        seen.append(decode_event(msg.data))

    return seen, await system.nc.subscribe(subjects.EVENTS_ALL, cb=on_event)


async def test_racing_refreshes_get_one_rotation_and_the_same_pair(windowed: System) -> None:
    party = await new_party(windowed)
    first = await tokens_for(windowed, party)
    results = await asyncio.gather(*(refresh(windowed, party, first["refresh_token"]) for _ in range(20)))
    assert all(status == 200 for status, _, _ in results), results
    pairs = {(body["access_token"], body["refresh_token"]) for _, _, body in results}
    assert len(pairs) == 1  # every racer inside the window got the same successor
    family = first["refresh_token"][9:25]
    members = await windowed.redis.zrange(grant_keys.family_members(family), 0, -1)
    assert sum(b":rt:" in m for m in members) == 2  # the presented token and ONE successor
    ((access, successor),) = pairs
    assert (await bus_verify(windowed, access))["active"] is True
    status, _, body = await refresh(windowed, party, successor)
    assert status == 200, body  # the successor works (and is itself rotated once)


async def test_a_replay_after_the_window_revokes_the_grant(windowed: System) -> None:
    party = await new_party(windowed)
    seen, sub = await collect_events(windowed)
    first = await tokens_for(windowed, party)
    _, _, second = await refresh(windowed, party, first["refresh_token"])
    assert (await refresh(windowed, party, first["refresh_token"]))[2] == second  # inside the window
    assert await windowed.redis.hlen(grant_keys.app_grant_users(party.client_id)) == 1
    family = first["refresh_token"][9:25]
    await gone(windowed, grant_keys.refresh_replay(family, "*"))  # the one-second window has closed
    status, _, body = await refresh(windowed, party, first["refresh_token"])
    assert (status, body["error"]) == (400, "invalid_grant")
    for token in (first["access_token"], second["access_token"]):
        assert await bus_verify(windowed, token) == {"active": False}
    status, _, body = await refresh(windowed, party, second["refresh_token"])
    assert (status, body["error"]) == (400, "invalid_grant")
    assert (
        await windowed.redis.hlen(grant_keys.app_grant_users(party.client_id)) == 0
    )  # no active authorization

    async def published() -> set[type]:  # the kinds of event about this family so far
        return {
            type(e)
            for e in seen
            if getattr(e, "family", None) == family or family in getattr(e, "families", [])
        }

    await eventually(published, lambda kinds: {RefreshReused, TokensRevoked} <= kinds)
    await sub.unsubscribe()  # type: ignore[attr-defined]
    assert any(
        isinstance(e, RefreshReused) and e.family == family and e.user_id == party.user.id for e in seen
    )
    assert any(
        isinstance(e, TokensRevoked) and e.reason == "refresh_reused" and e.families == [family] for e in seen
    )


async def test_access_tokens_expire(short_lived: System) -> None:
    party = await new_party(short_lived)
    pair = await tokens_for(short_lived, party)
    assert pair["expires_in"] == 3
    live = await bus_verify(short_lived, pair["access_token"])
    assert live["active"] is True
    await asyncio.sleep(max(0.0, live["exp"] - time.time()) + 0.3)  # until just past its own `exp`
    assert await bus_verify(short_lived, pair["access_token"]) == {"active": False}


async def test_refresh_tokens_slide_and_then_expire(short_lived: System) -> None:
    party = await new_party(short_lived)
    pair = await tokens_for(short_lived, party)
    for _ in range(3):  # used every 2 s, a 4 s refresh token keeps the grant alive
        await asyncio.sleep(2)
        status, _, pair = await refresh(short_lived, party, pair["refresh_token"])
        assert status == 200, pair
    await gone(short_lived, grant_keys.refresh_token(pair["refresh_token"][9:25], "*"))  # not used for 4 s
    status, _, body = await refresh(short_lived, party, pair["refresh_token"])
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_codes_expire(short_lived: System) -> None:
    party = await new_party(short_lived)
    code = await consent_code(short_lived, party)
    await gone(short_lived, grant_keys.code(code[11:27], "*"))  # its one second is over
    status, _, body = await exchange(short_lived, party, code)
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_without_a_window_any_reuse_revokes(short_lived: System) -> None:
    party = await new_party(short_lived)
    first = await tokens_for(short_lived, party)
    status, _, second = await refresh(short_lived, party, first["refresh_token"])
    assert status == 200
    status, _, body = await refresh(short_lived, party, first["refresh_token"])
    assert (status, body["error"]) == (400, "invalid_grant")
    assert await bus_verify(short_lived, second["access_token"]) == {"active": False}
