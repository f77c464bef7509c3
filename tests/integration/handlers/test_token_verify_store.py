"""Token verification and the API-call counter on the real grant store and call statistics over a real
Redis: malformed tokens never reach storage, an active token answers as RFC 7662 says, and the counter
batches its flushes, keeps its counts when a flush fails and flushes what is left on close. The store
and the statistics are observed (``Counting``, ``Recording``), never stood in for."""

from __future__ import annotations

import time
from typing import Any

import msgspec
import pytest

from services.token.calls import CallCounter, utc_day
from services.token.verify import INACTIVE, Verifier
from shared import keys as app_keys
from shared.grants import keys as grant_keys
from shared.grants.calls import GrantStats
from shared.grants.records import AccessTokenRecord
from shared.grants.store import RedisGrantStore, grant_store
from shared.messages.token import VerifyManyRequest, VerifyTokenRequest
from shared.service import Meta
from shared.tokens import Signer, mint, new_family_id
from tests.support.polling import eventually
from tests.support.system import System
from tests.support.token_flow import one_char_off

SIGNER = Signer(b"k" * 32)
META = Meta("r", {})


class CountingStore:
    """The real grant store; its reads of access tokens are counted."""

    def __init__(self, real: RedisGrantStore) -> None:
        self.real = real
        self.gets = 0  # reads: one per ``get_access`` and one per ``get_access_many``

    async def get_access(self, family: str, signature: str) -> bytes | None:
        self.gets += 1
        return await self.real.get_access(family, signature)

    async def get_access_many(self, tokens: list[tuple[str, str]]) -> list[bytes | None]:
        self.gets += 1
        return await self.real.get_access_many(tokens)


class RecordingStats:
    """The real call statistics; every flush that reached Redis is recorded."""

    def __init__(self, redis: Any) -> None:
        self.real = GrantStats(redis)
        self.flushes: list[tuple[dict[str, int], str]] = []

    async def add_calls(self, counts: dict[str, int], *, day: str) -> None:
        await self.real.add_calls(counts, day=day)
        self.flushes.append((dict(counts), day))


@pytest.fixture
def store(redis: Any, system: System) -> CountingStore:
    return CountingStore(grant_store(redis, system.settings))


async def existing_apps(redis: Any, *client_ids: str) -> None:
    """Calls are counted for existing apps only (``app_add_calls.lua``): their records are there."""
    for client_id in client_ids:
        await redis.set(app_keys.app(client_id), b"{}")


async def save_access(redis: Any, token: str, record: AccessTokenRecord) -> None:
    """An access token's record where the token store keeps it (``grants.keys.access_token``)."""
    await redis.set(grant_keys.access_token(record.family, SIGNER.sign(token)), msgspec.json.encode(record))


@pytest.mark.parametrize(
    "token",
    [
        "",
        "nonsense",
        mint("rt", new_family_id()),
        mint("code", new_family_id()),
        one_char_off(mint("at", new_family_id())),
    ],
)
async def test_malformed_or_non_access_tokens_are_inactive_without_storage(
    token: str, store: CountingStore, redis: Any
) -> None:
    verifier = Verifier(store, SIGNER, CallCounter(RecordingStats(redis)))  # type: ignore[arg-type]
    assert await verifier.verify(VerifyTokenRequest(token=token), META) == INACTIVE
    assert store.gets == 0


async def test_active_verification_answers_rfc7662_and_counts_one_call(
    store: CountingStore, redis: Any
) -> None:
    family = new_family_id()
    token = mint("at", family)
    now = int(time.time())
    record = AccessTokenRecord(
        family=family, client_id="c1", user_id="u1", scope="meetings:read", issued_at=now, expires_at=now + 60
    )
    expired = mint("at", family)
    old = msgspec.structs.replace(record, expires_at=now - 1)
    await save_access(redis, token, record)
    await save_access(redis, expired, old)
    await existing_apps(redis, "c1")
    stats = RecordingStats(redis)
    counter = CallCounter(stats)
    verifier = Verifier(store, SIGNER, counter)  # type: ignore[arg-type]
    body = msgspec.json.decode(await verifier.verify(VerifyTokenRequest(token=token), META))
    assert body == {
        "active": True,
        "client_id": "c1",
        "sub": "u1",
        "scope": "meetings:read",
        "exp": now + 60,
        "iat": now,
        "token_type": "Bearer",
    }
    assert await verifier.verify(VerifyTokenRequest(token=expired), META) == INACTIVE
    await counter.flush()
    assert stats.flushes == [({"c1": 1}, utc_day(time.time()))]
    assert await redis.get(grant_keys.app_calls_total("c1")) == b"1"


async def test_verify_many_reads_once_answers_as_verify_and_counts_each_active_token(
    store: CountingStore, redis: Any
) -> None:
    family, now = new_family_id(), int(time.time())
    live, expired, unknown = mint("at", family), mint("at", family), mint("at", family)
    record = AccessTokenRecord(
        family=family, client_id="c2", user_id="u2", scope="s", issued_at=now, expires_at=now + 60
    )
    await save_access(redis, live, record)
    await save_access(redis, expired, msgspec.structs.replace(record, expires_at=now - 1))
    await existing_apps(redis, "c2")
    stats = RecordingStats(redis)
    counter = CallCounter(stats)
    verifier = Verifier(store, SIGNER, counter)  # type: ignore[arg-type]
    tokens = [live, "", expired, mint("rt", family), unknown, one_char_off(live), live]
    body = msgspec.json.decode(await verifier.verify_many(VerifyManyRequest(tokens=tokens), META))
    assert store.gets == 1  # the four well-formed access tokens in one read
    singles = [msgspec.json.decode(await verifier.verify(VerifyTokenRequest(token=t), META)) for t in tokens]
    assert body == {"answers": singles}
    assert [a["active"] for a in body["answers"]] == [True, False, False, False, False, False, True]
    await counter.flush()
    assert stats.flushes == [({"c2": 4}, utc_day(time.time()))]  # 2 in the batch, 2 one by one


async def test_verify_many_of_malformed_tokens_never_reads_storage(store: CountingStore, redis: Any) -> None:
    verifier = Verifier(store, SIGNER, CallCounter(RecordingStats(redis)))  # type: ignore[arg-type]
    tokens = ["", "nonsense", mint("rt", new_family_id()), mint("code", new_family_id())]
    body = msgspec.json.decode(await verifier.verify_many(VerifyManyRequest(tokens=tokens), META))
    assert body == {"answers": [{"active": False}] * 4}
    assert msgspec.json.decode(await verifier.verify_many(VerifyManyRequest(tokens=[]), META)) == {
        "answers": []
    }
    assert store.gets == 0


async def test_call_counter_batches_keeps_counts_on_failure_and_flushes_on_close(redis: Any) -> None:
    await existing_apps(redis, "a", "b")
    stats = RecordingStats(redis)
    counter = CallCounter(stats, interval=0.01)
    counter.start()
    for _ in range(100):
        counter.add("a")
    counter.add("b", 5)

    async def flushed() -> list[tuple[dict[str, int], str]]:
        return stats.flushes

    await eventually(flushed)
    assert [counts for counts, _ in stats.flushes] == [{"a": 100, "b": 5}]
    broken = grant_keys.app_calls_total("a")
    await redis.delete(broken)
    await redis.hset(broken, "not", "a counter")  # Redis refuses the next INCRBY: the flush fails
    counter.add("a")
    assert await counter.flush() is False
    counter.add("a")  # before the repair below lets the background flush run: it sends both or neither
    await redis.delete(broken)
    await counter.close()
    assert stats.flushes[-1][0] == {"a": 2}
    assert await redis.get(broken) == b"2"
