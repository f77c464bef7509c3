"""The TTL sweeper against real Redis and NATS with short TTLs: after the last refresh token of a grant
expires, the app's and the user's indexes lose it, Active authorizations drops (within two sweep
intervals of the expiry), the connected-apps page forgets it and ``GrantExpired`` is published."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import msgspec
import pytest
from nats.aio.msg import Msg

from shared import subjects
from shared.grants import keys as grant_keys
from shared.messages import events as ev
from shared.messages.revocation import ConnectedAppsReply, ConnectedAppsRequest
from shared.tokens import Signer, parse
from tests.support.polling import eventually
from tests.support.system import System, start_system
from tests.support.token_flow import Party, bus_verify, consent_code, exchange, new_party, refresh

INTERVAL = 0.2
REFRESH_TTL = 2
ENV = {
    "MAVIO_REFRESH_TOKEN_TTL": str(REFRESH_TTL),
    "MAVIO_ACCESS_TOKEN_TTL": "1",
    "MAVIO_SWEEP_INTERVAL": str(INTERVAL),
    "MAVIO_CODE_TTL": "2",
}


@pytest.fixture(scope="module")
async def short() -> AsyncIterator[System]:
    sut = await start_system(ENV)
    yield sut
    await sut.close()


async def refresh_key_gone(system: System, token: str) -> float:
    """Wait until Redis has expired the refresh token's key; the moment it was seen gone."""
    parsed = parse(token, "rt")
    assert parsed is not None
    key = grant_keys.refresh_token(parsed.family, Signer(system.settings.hmac_key).sign(token))
    while await system.redis.exists(key):
        await asyncio.sleep(0.005)
    return time.monotonic()


async def tokens_for(system: System, party: Party) -> dict[str, str]:
    """A pair through consent (which records the user's grant) and the token endpoint."""
    status, _, body = await exchange(system, party, await consent_code(system, party))
    assert status == 200, body
    return body


async def active_authorizations(system: System, client_id: str) -> int:
    return int(await system.redis.hlen(grant_keys.app_grant_users(client_id)))


async def connected(system: System, party: Party) -> list[str]:
    reply = await system.bus.request(
        subjects.REVOCATION_CONNECTED_APPS, ConnectedAppsRequest(user_id=party.user.id), ConnectedAppsReply
    )
    return [a.client_id for a in reply.apps]


async def test_expiry_cleans_indexes_and_stats_within_two_intervals(short: System) -> None:
    system = short
    party = await new_party(system)
    expired: asyncio.Queue[Msg] = asyncio.Queue()
    sub = await system.nc.subscribe(subjects.EVENT_GRANT_EXPIRED, cb=expired.put)
    try:
        pair = await tokens_for(system, party)
        family = pair["refresh_token"][9:25]
        assert await active_authorizations(system, party.client_id) == 1
        assert party.client_id in await connected(system, party)
        gone_at = await refresh_key_gone(system, pair["refresh_token"])
        while await active_authorizations(system, party.client_id):
            await asyncio.sleep(0.005)
        lag = time.monotonic() - gone_at
        assert lag < 2 * INTERVAL, f"stats reflected the expiry after {lag * 1000:.0f} ms"
        event = msgspec.json.decode((await asyncio.wait_for(expired.get(), 5)).data, type=ev.Event)
    finally:
        await sub.unsubscribe()
    print(f"stats reflected the expiry {lag * 1000:.0f} ms after the refresh token expired")
    assert isinstance(event, ev.GrantExpired)
    assert (event.client_id, event.user_id, event.family) == (party.client_id, party.user.id, family)
    cid, uid = party.client_id, party.user.id
    assert await system.redis.zcard(grant_keys.app_families(cid)) == 0
    assert await system.redis.zcard(grant_keys.user_families(uid)) == 0
    assert (
        await system.redis.zscore(grant_keys.expiry_queue(), grant_keys.expiry_member(cid, family, uid))
        is None
    )
    assert await connected(system, party) == []
    assert not await system.redis.hexists(grant_keys.user_grants(uid), cid)  # the last family of the grant


async def test_a_refreshed_grant_keeps_counting_until_its_last_refresh_token_expires(short: System) -> None:
    system = short
    party = await new_party(system)
    first = await tokens_for(system, party)
    await asyncio.sleep(REFRESH_TTL * 0.6)
    status, _, second = await refresh(system, party, first["refresh_token"])
    assert status == 200, second
    await refresh_key_gone(system, first["refresh_token"])
    await asyncio.sleep(3 * INTERVAL)
    assert await active_authorizations(system, party.client_id) == 1  # the successor is alive
    gone_at = await refresh_key_gone(system, second["refresh_token"])
    while await active_authorizations(system, party.client_id):
        await asyncio.sleep(0.005)
    assert time.monotonic() - gone_at < 2 * INTERVAL


async def test_one_user_with_two_grants_counts_once_until_both_expire(short: System) -> None:
    system = short
    party = await new_party(system)
    first = await tokens_for(system, party)
    await asyncio.sleep(1.0)
    second = await tokens_for(system, party)
    assert await active_authorizations(system, party.client_id) == 1
    await refresh_key_gone(system, first["refresh_token"])
    await asyncio.sleep(3 * INTERVAL)
    assert await system.redis.hget(grant_keys.app_grant_users(party.client_id), party.user.id) == b"1"
    await refresh_key_gone(system, second["refresh_token"])
    await eventually(lambda: active_authorizations(system, party.client_id), lambda n: n == 0)  # swept
    assert await active_authorizations(system, party.client_id) == 0
    assert (await bus_verify(system, second["access_token"]))["active"] is False
