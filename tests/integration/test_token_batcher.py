"""The gateway's token batcher (``services.gateway.token_batch``) against a real nats-server and the real
token service: what is asked in one event-loop turn goes as one ``token.exchange_many`` message (or as
``token.exchange`` when alone, or in pieces of the limit), each caller gets its own answer or error, and
bus failures reach every caller as the ``temporarily_unavailable`` a single request gets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable

import msgspec
import pytest
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from services.gateway.token_batch import WAIT_SHARE, TokenBatcher
from shared import subjects
from shared.bus import Bus
from shared.errors import (
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    OAuthError,
    TemporarilyUnavailable,
    UnsupportedGrantType,
)
from shared.messages.token import ExchangeTokenReply, ExchangeTokenRequest, ExchangeTokensRequest
from tests.support.polling import eventually
from tests.support.system import System, start_system
from tests.support.token_batches import ExchangeWatch, watching
from tests.support.token_flow import Party, new_party, one_char_off, tokens_for

Outcome = ExchangeTokenReply | BaseException


@pytest.fixture
async def watch(system: System) -> AsyncIterator[ExchangeWatch]:
    async with watching(system.nc) as found:
        yield found


@pytest.fixture
async def party(system: System) -> Party:
    return await new_party(system)


@pytest.fixture(scope="module")
async def bare() -> AsyncIterator[System]:
    """Real servers and no service at all: nobody answers the token subjects."""
    sut = await start_system(services=(), gateway=False)
    yield sut
    await sut.close()


def refresh_of(party: Party, refresh_token: str, secret: str | None = None) -> ExchangeTokenRequest:
    return ExchangeTokenRequest(
        client_id=party.client_id,
        client_secret=party.secret if secret is None else secret,
        grant_type="refresh_token",
        refresh_token=refresh_token,
    )


async def outcomes(batcher: TokenBatcher, requests: list[ExchangeTokenRequest]) -> list[Outcome]:
    """Ask every request in the same event-loop turn; each caller's own result or exception."""
    futures = [batcher.exchange(req, f"rid-{i}") for i, req in enumerate(requests)]
    return list(await asyncio.gather(*futures, return_exceptions=True))


async def test_one_turn_is_one_message_and_each_caller_gets_its_own_answer(
    system: System, party: Party, watch: ExchangeWatch
) -> None:
    pairs = [await tokens_for(system, party) for _ in range(2)]
    requests = [
        refresh_of(party, pairs[0]["refresh_token"]),
        refresh_of(party, pairs[1]["refresh_token"], secret=one_char_off(party.secret)),  # wrong secret
        refresh_of(party, "mavio_rt_nonsense"),
        ExchangeTokenRequest(client_id=party.client_id, client_secret=party.secret, grant_type=""),
        ExchangeTokenRequest(client_id=party.client_id, client_secret=party.secret, grant_type="password"),
        refresh_of(party, pairs[1]["refresh_token"]),  # the same token as the wrong secret's: still fine
    ]
    got = await outcomes(TokenBatcher(system.bus), requests)
    assert isinstance(got[0], ExchangeTokenReply) and got[0].refresh_token != pairs[0]["refresh_token"]
    assert type(got[1]) is InvalidClient, got[1]
    assert type(got[2]) is InvalidGrant, got[2]
    assert type(got[3]) is InvalidRequest and got[3].description == "grant_type is required", got[3]
    assert type(got[4]) is UnsupportedGrantType, got[4]
    assert isinstance(got[5], ExchangeTokenReply) and got[5].scope == pairs[1]["scope"]
    await eventually(lambda: asyncio.sleep(0, watch.batch_ids("rid-")), lambda ids: len(ids) == 1)
    assert watch.batch_ids("rid-") == [[f"rid-{i}" for i in range(6)]]
    assert watch.batches[-1].wait_ms == int(system.bus.timeout * WAIT_SHARE * 1000)
    assert watch.single_ids("rid-") == []


async def test_a_request_alone_goes_to_the_single_subject(
    system: System, party: Party, watch: ExchangeWatch
) -> None:
    pair = await tokens_for(system, party)
    got = await outcomes(TokenBatcher(system.bus), [refresh_of(party, pair["refresh_token"])])
    assert isinstance(got[0], ExchangeTokenReply), got
    await eventually(lambda: asyncio.sleep(0, watch.single_ids("rid-")), lambda ids: ids == ["rid-0"])
    assert watch.batch_ids("rid-") == []


async def test_a_full_batch_goes_at_once_and_the_rest_in_the_next_message(
    system: System, party: Party, watch: ExchangeWatch
) -> None:
    requests = [refresh_of(party, f"mavio_rt_nonsense{i}") for i in range(7)]
    got = await outcomes(TokenBatcher(system.bus, max_batch=3), requests)
    assert all(type(found) is InvalidGrant for found in got), got

    def seen() -> Awaitable[tuple[list[list[str]], list[str]]]:
        return asyncio.sleep(0, (watch.batch_ids("rid-"), watch.single_ids("rid-")))

    expected = ([["rid-0", "rid-1", "rid-2"], ["rid-3", "rid-4", "rid-5"]], ["rid-6"])
    await eventually(seen, lambda found: found == expected)
    asked = [item.request.refresh_token for batch in watch.batches[-2:] for item in batch.items]
    assert asked == [f"mavio_rt_nonsense{i}" for i in range(6)]


async def test_a_caller_that_goes_away_does_not_cancel_the_batch(system: System, party: Party) -> None:
    pairs = [await tokens_for(system, party) for _ in range(3)]
    batcher = TokenBatcher(system.bus)
    futures = [
        batcher.exchange(refresh_of(party, p["refresh_token"]), f"rid-{i}") for i, p in enumerate(pairs)
    ]
    futures[1].cancel()  # its HTTP request was cancelled (the client went away)
    first, third = await asyncio.gather(futures[0], futures[2])
    assert first.access_token != third.access_token and first.scope == pairs[0]["scope"]
    assert futures[1].cancelled()


async def test_close_sends_what_is_waiting_and_waits_for_it(system: System, party: Party) -> None:
    pair = await tokens_for(system, party)
    batcher = TokenBatcher(system.bus)
    waiting = [batcher.exchange(refresh_of(party, pair["refresh_token"]), "rid-0")]
    waiting.append(batcher.exchange(refresh_of(party, "mavio_rt_nonsense"), "rid-1"))
    await batcher.close()
    assert all(f.done() for f in waiting)
    assert isinstance(waiting[0].result(), ExchangeTokenReply)
    assert type(waiting[1].exception()) is InvalidGrant


@pytest.mark.parametrize("size", [1, 3])
async def test_no_token_service_fails_every_caller_as_a_single_request(bare: System, size: int) -> None:
    requests = [ExchangeTokenRequest(client_id="c", client_secret="s", grant_type="refresh_token")] * size
    alone = await outcomes(TokenBatcher(bare.bus, max_batch=1), requests[:1])
    got = await outcomes(TokenBatcher(bare.bus), requests)
    assert all(type(found) is TemporarilyUnavailable for found in [*alone, *got]), got
    assert {str(found) for found in got} == {str(alone[0])} == {"the token service is not available"}
    assert len({id(found) for found in got}) == size  # each caller raises its own exception


async def silent(nc: NATS, subject: str, heard: list[Msg]) -> Subscription:
    """A responder on ``subject`` that never answers; what it is sent goes to ``heard``."""

    async def keep(msg: Msg) -> None:
        heard.append(msg)

    sub = await nc.subscribe(subject, cb=keep)
    await nc.flush()
    return sub


async def test_a_batch_not_answered_in_time_fails_every_caller_as_a_single_request(bare: System) -> None:
    heard: list[Msg] = []
    subs = [
        await silent(bare.nc, subject, heard)
        for subject in (subjects.TOKEN_EXCHANGE_MANY, subjects.TOKEN_EXCHANGE)
    ]
    bus = Bus(bare.nc, timeout=0.3)
    requests = [ExchangeTokenRequest(client_id="c", client_secret="s", grant_type="refresh_token")] * 4
    try:
        alone = await outcomes(TokenBatcher(bus), requests[:1])
        got = await outcomes(TokenBatcher(bus), requests)
    finally:
        for sub in subs:
            await sub.unsubscribe()
    assert all(type(found) is TemporarilyUnavailable for found in [*alone, *got]), got
    assert {str(found) for found in [*alone, *got]} == {"the token service did not answer in time"}
    assert [msg.subject for msg in heard] == [subjects.TOKEN_EXCHANGE, subjects.TOKEN_EXCHANGE_MANY]
    assert msgspec.json.decode(heard[1].data, type=ExchangeTokensRequest).wait_ms == 240


async def test_an_unreadable_batch_reply_fails_every_caller(bare: System) -> None:
    async def short(msg: Msg) -> None:
        await msg.respond(b'{"items": []}')  # fewer answers than items

    sub = await bare.nc.subscribe(subjects.TOKEN_EXCHANGE_MANY, cb=short)
    try:
        requests = [ExchangeTokenRequest(client_id="c", client_secret="s", grant_type="refresh_token")] * 2
        got = await outcomes(TokenBatcher(Bus(bare.nc, timeout=2)), requests)
    finally:
        await sub.unsubscribe()
    assert all(isinstance(found, OAuthError) for found in got), got
    assert [type(found) for found in got] == [TemporarilyUnavailable] * 2
    assert {str(found) for found in got} == {"the token service sent an unreadable reply"}


async def test_with_no_replica_serving_batches_each_request_goes_alone(bare: System) -> None:
    """Token replicas older than the gateway (a rolling upgrade) serve ``token.exchange`` only."""
    heard: list[Msg] = []

    async def old_replica(msg: Msg) -> None:
        heard.append(msg)
        req = msgspec.json.decode(msg.data, type=ExchangeTokenRequest)
        reply = ExchangeTokenReply(
            access_token=f"at-{req.refresh_token}", refresh_token="rt", expires_in=1, scope="s"
        )
        await msg.respond(msgspec.json.encode(reply))

    sub = await bare.nc.subscribe(subjects.TOKEN_EXCHANGE, cb=old_replica)
    await bare.nc.flush()
    try:
        requests = [
            ExchangeTokenRequest(
                client_id="c", client_secret="s", grant_type="refresh_token", refresh_token=str(i)
            )
            for i in range(3)
        ]
        got = await outcomes(TokenBatcher(Bus(bare.nc, timeout=2)), requests)
    finally:
        await sub.unsubscribe()
    assert [found.access_token for found in got if isinstance(found, ExchangeTokenReply)] == [
        "at-0",
        "at-1",
        "at-2",
    ]
    assert sorted((m.headers or {}).get(subjects.REQUEST_ID_HEADER) for m in heard) == [
        "rid-0",
        "rid-1",
        "rid-2",
    ]
