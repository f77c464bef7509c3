"""Revoke all tokens and Delete app: every code, access and refresh token of the app is invalid at once on
every token replica and in a resource server's verification cache (measured against a 100 ms deadline),
a code issued before the revocation cannot be exchanged after it, and the app's stats drop to zero."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from shared import subjects
from shared.grants import keys as grant_keys
from shared.messages.registry import GetOwnedAppReply
from shared.registry_client import RegistryClient
from shared.verify_client import TokenVerifier
from tests.support.factories import create_account, new_http, sign_in
from tests.support.polling import eventually
from tests.support.system import System, start_system
from tests.support.token_flow import (
    Party,
    bus_verify,
    consent_code,
    exchange,
    new_party,
    refresh,
    tokens_for,
)

API = "/api/v1/oauth-apps"
TOKEN_REPLICAS = 2  # the system's token service and the one ``replicated`` adds
DEADLINE = 0.100  # seconds from the revocation's answer until nothing of the app verifies anywhere


@pytest.fixture(scope="module")
async def replicated() -> AsyncIterator[System]:
    """Every service, plus a second token replica (in this process)."""
    sut = await start_system()
    await sut.start_service("token")
    yield sut
    await sut.close()


async def verify_counts(system: System, replicas: int = TOKEN_REPLICAS) -> dict[str, int]:
    """Verify requests served so far per token replica (nats.micro ``$SRV.STATS``), once all
    ``replicas`` answered."""
    inbox = system.nc.new_inbox()
    replies: asyncio.Queue[Any] = asyncio.Queue()
    sub = await system.nc.subscribe(inbox, cb=replies.put)
    await system.nc.publish(f"$SRV.STATS.{subjects.TOKEN}", b"", reply=inbox)

    async def answered() -> int:
        return replies.qsize()

    await eventually(answered, lambda n: n >= replicas)
    await sub.unsubscribe()
    counts: dict[str, int] = {}
    while not replies.empty():
        stats = json.loads((await replies.get()).data)
        verify = [e for e in stats["endpoints"] if e["subject"] == subjects.TOKEN_VERIFY]
        counts[stats["id"]] = verify[0]["num_requests"] if verify else 0
    return counts


async def everything_inactive(system: System, verifier: TokenVerifier, tokens: list[str]) -> bool:
    for token in tokens:
        if (await verifier.verify(token)).active:
            return False
        for _ in range(4):  # queue-group requests land on both replicas
            if (await bus_verify(system, token))["active"]:
                return False
    return True


async def deadline_met(system: System, verifier: TokenVerifier, tokens: list[str]) -> float:
    """Seconds from now until every token is inactive on the bus and in the cache; fails past DEADLINE."""
    start = time.perf_counter()
    while not await everything_inactive(system, verifier, tokens):
        elapsed = time.perf_counter() - start
        assert elapsed < DEADLINE, f"tokens still active {elapsed * 1000:.1f} ms after the revocation"
    return time.perf_counter() - start


async def live_tokens(system: System, party: Party, users: int = 2) -> tuple[list[str], list[str]]:
    """(access tokens, refresh tokens) for ``users`` users of the app, through consent and exchange."""
    access, refreshes = [], []
    for i in range(users):
        if i:
            party = Party(party.app, party.secret, await create_account(system), party.owner)
        status, _, body = await exchange(system, party, await consent_code(system, party))
        assert status == 200, body
        access.append(body["access_token"])
        refreshes.append(body["refresh_token"])
    return access, refreshes


async def owner_call(system: System, party: Party, method: str, path: str) -> tuple[int, Any]:
    async with new_http() as http:
        await sign_in(system, http, party.owner.email)
        async with http.request(method, system.url(path), json={}) as resp:
            return resp.status, await resp.json()


async def stats(system: System, party: Party) -> GetOwnedAppReply:
    return await RegistryClient(system.bus).owned_app(party.owner.id, party.client_id)


async def test_revoke_all_invalidates_every_token_on_every_replica_and_in_the_cache(
    replicated: System,
) -> None:
    system = replicated
    party = await new_party(system)
    access, refreshes = await live_tokens(system, party)
    pending = await consent_code(system, party)  # issued before, exchanged after the revocation
    verifier = TokenVerifier(system.nc, cache_ttl=60)
    await verifier.start()
    try:
        for token in access:
            assert (await verifier.verify(token)).active
            assert len(verifier) > 0
        before = await verify_counts(system)
        assert len(before) == 2
        assert (await stats(system, party)).stats.active_authorizations == 2
        status, body = await owner_call(system, party, "POST", f"{API}/{party.client_id}/revoke-tokens")
        assert status == 200, body
        assert body["families_revoked"] >= 3  # two exchanged grants and the pending code
        elapsed = await deadline_met(system, verifier, access)
        after = await verify_counts(system)
        assert all(after[i] > before[i] for i in before), (before, after)  # both replicas answered
    finally:
        await verifier.close()
    print(f"revoke-all: inactive everywhere {elapsed * 1000:.1f} ms after the answer")
    for token in refreshes:
        status, _, body = await refresh(system, party, token)
        assert (status, body["error"]) == (400, "invalid_grant")
    status, _, body = await exchange(system, party, pending)
    assert (status, body["error"]) == (400, "invalid_grant")
    assert (await stats(system, party)).stats.active_authorizations == 0
    assert await system.redis.hlen(grant_keys.user_grants(party.user.id)) == 0
    assert await system.redis.zcard(grant_keys.app_pending_codes(party.client_id)) == 0
    # users can authorize again afterwards
    again = await tokens_for(system, party)
    assert (await bus_verify(system, again["access_token"]))["active"] is True
    assert (await stats(system, party)).stats.active_authorizations == 1


async def test_delete_invalidates_every_token_and_removes_the_apps_indexes(replicated: System) -> None:
    system = replicated
    party = await new_party(system)
    access, refreshes = await live_tokens(system, party)
    pending = await consent_code(system, party)
    assert (await bus_verify(system, access[0]))["active"]
    verifier = TokenVerifier(system.nc, cache_ttl=60)
    await verifier.start()
    try:
        for token in access:
            assert (await verifier.verify(token)).active
        status, body = await owner_call(system, party, "DELETE", f"{API}/{party.client_id}")
        assert status == 200, body
        assert body["users_affected"] == 2
        elapsed = await deadline_met(system, verifier, access)
    finally:
        await verifier.close()
    print(f"delete: inactive everywhere {elapsed * 1000:.1f} ms after the answer")
    status, _, body = await refresh(system, party, refreshes[0])
    assert (status, body["error"]) == (401, "invalid_client")
    status, _, body = await exchange(system, party, pending)
    assert (status, body["error"]) == (401, "invalid_client")
    cid = party.client_id
    for key in (
        grant_keys.app_families(cid),
        grant_keys.app_grant_users(cid),
        grant_keys.app_pending_codes(cid),
    ):
        assert not await system.redis.exists(key), key
    assert not await system.redis.exists(grant_keys.app_calls_total(cid))
    assert not await system.redis.hexists(grant_keys.user_grants(party.user.id), cid)


async def test_revoke_all_of_an_app_without_tokens_is_recorded(replicated: System) -> None:
    system = replicated
    party = await new_party(system)
    status, body = await owner_call(system, party, "POST", f"{API}/{party.client_id}/revoke-tokens")
    assert (status, body["families_revoked"]) == (200, 0)
