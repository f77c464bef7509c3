"""Many verifications per bus message (``mavio.oauth.v1.token.verify_many``) on the real bus and Redis:
the token service answers a list exactly as ``token.verify`` answers each token, refuses an oversized or
malformed message with ``invalid_request``, counts each active token as one API call; the batching
``shared.verify_client.TokenVerifier`` sends the misses of one event-loop turn as ONE message and gives
each caller its own answer, a revocation is visible to the very next batch, a cancelled caller takes
nothing from the others, and a bus that cannot answer fails every caller with ``temporarily_unavailable``."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from shared import subjects
from shared.bus import ERROR_CODE_HEADER, ERROR_HEADER
from shared.errors import TemporarilyUnavailable
from shared.grants import keys as grant_keys
from shared.grants.records import AccessTokenRecord
from shared.messages.token import MAX_VERIFY_MANY, MAX_VERIFY_TOKEN_CHARS, Introspection
from shared.tokens import Signer, mint, new_family_id, parse
from shared.verify_client import TokenVerifier
from tests.support.polling import eventually
from tests.support.system import System, start_system
from tests.support.token_flow import Party, api_calls, new_party, one_char_off, token_request, tokens_for


class Messages:
    """Every message the bus carries on ``subject`` (a plain subscription beside the token service's
    queue group receives each one too): the token lists of ``token.verify_many``."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []
        self.sub: Subscription | None = None

    async def on(self, msg: Msg) -> None:
        self.bodies.append(json.loads(msg.data))


@pytest.fixture
async def many_messages(system: System) -> AsyncIterator[Messages]:
    seen = Messages()
    seen.sub = await system.nc.subscribe(subjects.TOKEN_VERIFY_MANY, cb=seen.on)
    single = await system.nc.subscribe(subjects.TOKEN_VERIFY, cb=seen.on)
    await system.nc.flush()
    yield seen
    await seen.sub.unsubscribe()
    await single.unsubscribe()


async def verify_many_raw(system: System, tokens: list[Any]) -> Msg:
    return await system.nc.request(
        subjects.TOKEN_VERIFY_MANY, json.dumps({"tokens": tokens}).encode(), timeout=5
    )


async def revoke(system: System, party: Party, token: str) -> None:
    status, _, body = await token_request(system, {"token": token, **party.post_auth()}, path="/oauth/revoke")
    assert status == 200, body


async def expired_token(system: System, party: Party) -> str:
    """An access token whose record is still in Redis but whose ``expires_at`` has passed."""
    family, now = new_family_id(), int(time.time())
    token = mint("at", family)
    record = AccessTokenRecord(
        family=family,
        client_id=party.client_id,
        user_id=party.user.id,
        scope="meetings:read",
        issued_at=now - 120,
        expires_at=now - 1,
    )
    key = grant_keys.access_token(family, Signer(system.settings.hmac_key).sign(token))
    await system.redis.set(key, msgspec.json.encode(record), ex=60)
    return token


async def every_kind(system: System, party: Party) -> dict[str, str]:
    """One token of each kind a resource server may be shown."""
    live, revoked = await tokens_for(system, party), await tokens_for(system, party)
    await revoke(system, party, revoked["access_token"])
    return {
        "active": live["access_token"],
        "revoked": revoked["access_token"],
        "expired": await expired_token(system, party),
        "refresh": live["refresh_token"],
        "unknown": mint("at", new_family_id()),
        "checksum": one_char_off(live["access_token"]),
        "garbage": "not a token",
        "empty": "",
    }


async def test_verify_many_answers_exactly_as_verify_does(system: System) -> None:
    party = await new_party(system)
    kinds = await every_kind(system, party)
    tokens = [*kinds.values(), kinds["active"]]  # the same token twice: two answers
    msg = await verify_many_raw(system, tokens)
    assert not msg.headers, msg.data
    batch = json.loads(msg.data)["answers"]
    singles = [json.loads((await verify_many_raw_single(system, t)).data) for t in tokens]
    assert batch == singles
    assert [a["active"] for a in batch] == [True, False, False, False, False, False, False, False, True]
    assert batch[0]["client_id"] == party.client_id and batch[0]["token_type"] == "Bearer"


async def verify_many_raw_single(system: System, token: str) -> Msg:
    return await system.nc.request(subjects.TOKEN_VERIFY, json.dumps({"token": token}).encode(), timeout=5)


async def test_each_active_token_of_a_message_is_counted_once(system: System) -> None:
    party = await new_party(system)
    a, b = await tokens_for(system, party), await tokens_for(system, party)
    tokens = [a["access_token"], b["access_token"], a["access_token"], a["refresh_token"], "x"]
    assert not (await verify_many_raw(system, tokens)).headers
    await eventually(lambda: api_calls(system, party.client_id), lambda n: n == 3)


@pytest.mark.parametrize(
    "payload",
    [
        json.dumps({"tokens": ["mavio_at_x"] * (MAX_VERIFY_MANY + 1)}).encode(),
        json.dumps({"tokens": ["a" * (MAX_VERIFY_TOKEN_CHARS + 1)]}).encode(),
        json.dumps({"tokens": "mavio_at_x"}).encode(),
        json.dumps({"tokens": [1, 2]}).encode(),
        b'{"tokens": [',
        b"{}",
    ],
    ids=["too-many", "too-long", "not-a-list", "not-strings", "not-json", "no-tokens"],
)
async def test_an_oversized_or_malformed_message_is_invalid_request(system: System, payload: bytes) -> None:
    msg = await system.nc.request(subjects.TOKEN_VERIFY_MANY, payload, timeout=5)
    assert msg.headers and msg.headers[ERROR_HEADER] == "invalid_request", msg.data
    assert msg.headers[ERROR_CODE_HEADER] == "400"
    assert json.loads(msg.data)["error"] == "invalid_request"


async def test_the_limit_itself_is_answered(system: System) -> None:
    msg = await verify_many_raw(system, [mint("at", new_family_id()) for _ in range(MAX_VERIFY_MANY)])
    assert not msg.headers
    assert json.loads(msg.data)["answers"] == [{"active": False}] * MAX_VERIFY_MANY


async def test_concurrent_callers_share_one_message_each_with_its_own_answer(
    system: System, many_messages: Messages
) -> None:
    party = await new_party(system)
    kinds = await every_kind(system, party)
    others = [(await tokens_for(system, party))["access_token"] for _ in range(5)]
    verifier = TokenVerifier(system.nc)
    names = [*kinds, *(f"other-{i}" for i in range(len(others)))]
    tokens = [*kinds.values(), *others]
    answers = await asyncio.gather(*(verifier.verify(t) for t in tokens))
    await system.nc.flush()
    well_formed = [t for t in tokens if parse(t, "at") is not None]  # the others never leave the process
    assert many_messages.bodies == [{"tokens": well_formed}]
    by_name = dict(zip(names, answers, strict=True))
    assert {n for n, a in by_name.items() if a.active} == {"active", *(f"other-{i}" for i in range(5))}
    for token, answer in zip(tokens, answers, strict=True):
        if answer.active:
            single = Introspection(**json.loads((await verify_many_raw_single(system, token)).data))
            assert answer == single


async def test_the_batch_limit_splits_a_turn_into_messages(system: System, many_messages: Messages) -> None:
    party = await new_party(system)
    token = (await tokens_for(system, party))["access_token"]
    verifier = TokenVerifier(system.nc, max_batch=4)
    answers = await asyncio.gather(*(verifier.verify(token) for _ in range(10)))
    assert all(a.active for a in answers)
    await system.nc.flush()
    sizes = [
        len(b["tokens"]) if "tokens" in b and isinstance(b["tokens"], list) else 1
        for b in many_messages.bodies
    ]
    assert sizes == [4, 4, 2]


async def test_a_revocation_is_visible_to_the_very_next_batch(system: System) -> None:
    party = await new_party(system)
    a, b = await tokens_for(system, party), await tokens_for(system, party)
    verifier = TokenVerifier(system.nc)
    first = await asyncio.gather(verifier.verify(a["access_token"]), verifier.verify(b["access_token"]))
    assert [x.active for x in first] == [True, True]
    await revoke(system, party, a["access_token"])
    second = await asyncio.gather(verifier.verify(a["access_token"]), verifier.verify(b["access_token"]))
    assert [x.active for x in second] == [False, True]


async def test_a_cancelled_caller_does_not_cancel_the_batch_for_the_others(system: System) -> None:
    party = await new_party(system)
    token = (await tokens_for(system, party))["access_token"]
    verifier = TokenVerifier(system.nc)
    calls = [asyncio.ensure_future(verifier.verify(token)) for _ in range(4)]
    await asyncio.sleep(0)  # each caller has joined the batch
    calls[1].cancel()
    done = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(done[1], asyncio.CancelledError)
    assert [d.active for i, d in enumerate(done) if i != 1] == [True, True, True]  # type: ignore[union-attr]


async def test_a_bus_that_cannot_answer_fails_every_caller(system: System) -> None:
    party = await new_party(system)
    tokens = [(await tokens_for(system, party))["access_token"] for _ in range(3)]
    nc = await system.servers.connect()
    verifier = TokenVerifier(nc, timeout=2)
    await nc.close()
    done = await asyncio.gather(*(verifier.verify(t) for t in tokens), return_exceptions=True)
    assert all(isinstance(d, TemporarilyUnavailable) for d in done), done
    assert all(d.error == "temporarily_unavailable" for d in done if isinstance(d, TemporarilyUnavailable))


async def test_batching_off_sends_one_verify_per_token(system: System, many_messages: Messages) -> None:
    party = await new_party(system)
    tokens = [(await tokens_for(system, party))["access_token"] for _ in range(3)]
    verifier = TokenVerifier(system.nc, batch=False)
    assert all(a.active for a in await asyncio.gather(*(verifier.verify(t) for t in tokens)))
    await system.nc.flush()
    assert sorted(json.dumps(b) for b in many_messages.bodies) == sorted(
        json.dumps({"token": t}) for t in tokens
    )


async def test_the_batching_client_counts_each_verified_token_once(system: System) -> None:
    party = await new_party(system)
    a, b = await tokens_for(system, party), await tokens_for(system, party)
    verifier = TokenVerifier(system.nc)
    tokens = [a["access_token"], b["access_token"], a["access_token"], a["refresh_token"], "x"]
    answers = await asyncio.gather(*(verifier.verify(t) for t in tokens))
    assert [x.active for x in answers] == [True, True, True, False, False]
    await eventually(lambda: api_calls(system, party.client_id), lambda n: n == 3)


async def test_with_no_replica_serving_batches_each_token_goes_alone() -> None:
    """Token replicas older than the resource server's client (a rolling upgrade) serve ``token.verify``
    only: the batching verifier sends that turn's tokens one by one, each caller still gets its answer."""
    bare = await start_system(services=(), gateway=False)
    heard: list[str] = []

    async def old_replica(msg: Msg) -> None:
        token = msgspec.json.decode(msg.data)["token"]
        heard.append(token)
        await msg.respond(msgspec.json.encode(Introspection(active=True, client_id=f"app-of-{token}")))

    sub = await bare.nc.subscribe(subjects.TOKEN_VERIFY, cb=old_replica)
    try:
        await bare.nc.flush()
        tokens = [mint("at", new_family_id()) for _ in range(3)]
        verifier = TokenVerifier(bare.nc, timeout=2)
        answers = await asyncio.gather(*(verifier.verify(t) for t in tokens))
    finally:
        await sub.unsubscribe()
        await bare.close()
    assert [a.client_id for a in answers] == [f"app-of-{t}" for t in tokens]
    assert sorted(heard) == sorted(tokens)
