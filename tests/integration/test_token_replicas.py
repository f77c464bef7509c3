"""The gateway's batches spread over the token replicas by load (``services.gateway.replicas``), against
a real nats-server (with its bus users) and two real token replicas: each replica is found through
nats.micro's INFO, batches in flight together go to different replicas on their own subjects, and a
replica that stops costs nothing but a batch redirected to the queue group."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import nats.errors
import pytest
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from services.gateway.replicas import Replicas
from services.gateway.token_batch import TokenBatcher
from shared import subjects
from shared.bus import Bus
from shared.messages.token import ExchangeTokenReply, ExchangeTokenRequest
from tests.support.bus_users import connect_as
from tests.support.polling import eventually
from tests.support.system import System, running_system
from tests.support.token_flow import Party, new_party, tokens_for


@pytest.fixture(scope="module")
async def two() -> AsyncIterator[tuple[System, tuple[asyncio.Event, asyncio.Task[None]]]]:
    """A system with two token replicas; the second one's stop handle."""
    async with running_system(services=(subjects.TOKEN, subjects.AUTHORIZE, subjects.REGISTRY)) as system:
        second = await system.start_service(subjects.TOKEN)
        yield system, second


@pytest.fixture
async def gateway_nc(two: tuple[System, object]) -> AsyncIterator[NATS]:
    nc = await connect_as(two[0], "gateway")  # the gateway's own bus user and its permissions
    yield nc
    await nc.close()


async def found(replicas: Replicas, count: int) -> list[str]:
    async def known() -> list[str]:
        await replicas.discover()
        return replicas.known()

    return await eventually(known, lambda ids: len(ids) == count)


async def refreshes(system: System, party: Party, n: int) -> list[ExchangeTokenRequest]:
    return [
        ExchangeTokenRequest(
            client_id=party.client_id,
            client_secret=party.secret,
            grant_type="refresh_token",
            refresh_token=(await tokens_for(system, party))["refresh_token"],
        )
        for _ in range(n)
    ]


async def test_batches_in_flight_together_go_to_different_replicas(
    two: tuple[System, object], gateway_nc: NATS
) -> None:
    system = two[0]
    party = await new_party(system)
    requests = await refreshes(system, party, 8)
    seen: Counter[str] = Counter()

    async def on_direct(msg: Msg) -> None:
        seen[msg.subject] += 1

    watch = await system.nc.subscribe(
        subjects.replica_subject(subjects.TOKEN_EXCHANGE_MANY, "*"), cb=on_direct
    )
    await system.nc.flush()
    replicas = Replicas(gateway_nc)
    await replicas.start()
    try:
        ids = await found(replicas, 2)
        batcher = TokenBatcher(Bus(gateway_nc, timeout=5), replicas=replicas)
        futures = []
        for i in range(0, 8, 2):  # four batches of two, each sent before any is answered
            futures += [batcher.exchange(req, f"spread-{i + j}") for j, req in enumerate(requests[i : i + 2])]
            await asyncio.sleep(0)
        replies = await asyncio.gather(*futures)
        await batcher.close()
    finally:
        await replicas.close()
        await watch.unsubscribe()
    assert all(isinstance(r, ExchangeTokenReply) and r.access_token for r in replies)
    assert len({r.access_token for r in replies}) == 8
    direct = {subjects.replica_subject(subjects.TOKEN_EXCHANGE_MANY, rid) for rid in ids}
    assert set(seen) == direct and sorted(seen.values()) == [2, 2], seen


async def test_a_resource_server_cannot_address_a_replica(two: tuple[System, object]) -> None:
    """The replica subjects are the gateway's: a resource server's credentials cannot send a batch there."""
    system = two[0]
    errors: list[str] = []
    nc = await connect_as(system, "resource", errors)
    try:
        with pytest.raises(nats.errors.Error):
            await nc.request(subjects.replica_subject(subjects.TOKEN_EXCHANGE_MANY, "any"), b"{}", timeout=1)
        with pytest.raises(nats.errors.Error):
            await nc.request(f"$SRV.INFO.{subjects.TOKEN}", b"", timeout=1)

        async def reported() -> list[str]:
            return errors

        await eventually(reported, lambda e: any("permissions violation for publish" in x.lower() for x in e))
    finally:
        await nc.close()


async def test_a_stopped_replica_costs_one_redirected_batch_and_is_forgotten(
    two: tuple[System, tuple[asyncio.Event, asyncio.Task[None]]], gateway_nc: NATS
) -> None:
    system, (stop, task) = two
    party = await new_party(system)
    requests = await refreshes(system, party, 4)
    replicas = Replicas(gateway_nc)
    await replicas.start()
    try:
        await found(replicas, 2)
        stop.set()  # the second replica drains and leaves the bus
        await asyncio.wait_for(task, 30)
        batcher = TokenBatcher(Bus(gateway_nc, timeout=5), replicas=replicas)
        for i in (0, 2):  # ties are taken in turn: one of these batches is sent to the stopped replica
            pair = [batcher.exchange(req, f"gone-{i + j}") for j, req in enumerate(requests[i : i + 2])]
            replies = await asyncio.gather(*pair)
            assert all(isinstance(r, ExchangeTokenReply) and r.access_token for r in replies)
        await batcher.close()
        assert len(replicas.known()) == 1
    finally:
        await replicas.close()
