"""The apps store's client-secret index (``shared.apps.secret_index``, written by ``RedisAppStore``
only), on a single Redis and on a real Redis Cluster: a secret's HMAC finds its app in one lookup for
the current, previous (overlap) and leaked hashes, entries follow the record on regenerate, leak and
delete, apps made before the index are found after ``index_secrets``, and ``replace`` (compare and set)
lets one of many concurrent changes win."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator

import msgspec
import pytest

from shared import keys
from shared.apps.records import AppRecord
from shared.apps.store import RedisAppStore
from shared.tokens import Signer
from tests.support.system import DEPLOYMENTS, System, on_deployment

SIGNER = Signer(b"i" * 32)


@pytest.fixture(scope="module", params=DEPLOYMENTS)
async def deployment(request: pytest.FixtureRequest, system: System) -> AsyncIterator[System]:
    async with on_deployment(request.param, system) as sut:
        yield sut


def new_record(secret: str) -> AppRecord:
    now = int(time.time())
    return AppRecord(
        client_id=f"mavio_client_Index{secrets.token_hex(8)}",
        owner_id=f"user-{secrets.token_hex(4)}",
        created_at=now,
        updated_at=now,
        secret_hash=SIGNER.sign(secret),
    )


def secret() -> str:
    return f"mavio_cs_{secrets.token_hex(16)}"


async def indexed(system: System, *signatures: str) -> list[bool]:
    return [bool(await system.redis.exists(keys.app_secret(s))) for s in signatures]


async def test_current_previous_and_leaked_hashes_find_their_app(deployment: System) -> None:
    store = RedisAppStore(deployment.redis)
    first, second = secret(), secret()
    record = new_record(first)
    assert await store.insert(record, None)
    assert await store.insert(new_record(secret()), None)  # another app: not what is found
    found = await store.by_secret(SIGNER.sign(first))
    assert found is not None and found.client_id == record.client_id
    rotated = msgspec.structs.replace(
        record,
        secret_hash=SIGNER.sign(second),
        previous_secret_hash=record.secret_hash,
        previous_secret_until=int(time.time()) + 3600,
    )
    await store.save(rotated)
    for raw in (first, second):
        found = await store.by_secret(SIGNER.sign(raw))
        assert found is not None and found.client_id == record.client_id
    leaked = msgspec.structs.replace(
        rotated, secret_hash="", leaked_secret_hash=rotated.secret_hash, previous_secret_hash=""
    )
    assert await store.replace(record.client_id, lambda _: leaked) == leaked
    assert (await store.by_secret(SIGNER.sign(second))) == leaked  # the leaked hash: still found
    assert await store.by_secret(SIGNER.sign(first)) is None  # dropped from the record: gone
    assert await indexed(deployment, SIGNER.sign(first)) == [False]
    assert await store.by_secret(SIGNER.sign(secret())) is None


async def test_delete_drops_every_entry_of_the_app(deployment: System) -> None:
    store = RedisAppStore(deployment.redis)
    old, new = secret(), secret()
    record = new_record(old)
    assert await store.insert(record, None)
    rotated = msgspec.structs.replace(
        record, secret_hash=SIGNER.sign(new), previous_secret_hash=record.secret_hash
    )
    await store.save(rotated)
    signatures = (SIGNER.sign(old), SIGNER.sign(new))
    assert await indexed(deployment, *signatures) == [True, True]
    await store.delete(record)  # the caller's copy is older than the stored record: both dropped
    assert await indexed(deployment, *signatures) == [False, False]
    assert [await store.by_secret(s) for s in signatures] == [None, None]


async def test_apps_made_before_the_index_are_found_after_the_backfill(deployment: System) -> None:
    store = RedisAppStore(deployment.redis)
    raw = secret()
    record = new_record(raw)
    assert await store.insert(record, None)
    await deployment.redis.delete(keys.app_secret(record.secret_hash))  # as made before the index
    assert await store.by_secret(record.secret_hash) is None
    assert await store.index_secrets() >= 1
    found = await store.by_secret(SIGNER.sign(raw))
    assert found is not None and found.client_id == record.client_id


async def test_of_concurrent_replaces_one_wins(deployment: System) -> None:
    store = RedisAppStore(deployment.redis)
    record = new_record(secret())
    assert await store.insert(record, None)

    def leak(current: AppRecord) -> AppRecord | None:
        if not current.secret_hash:
            return None  # already invalidated: nothing to do
        return msgspec.structs.replace(current, secret_hash="", leaked_secret_hash=current.secret_hash)

    results = await asyncio.gather(*(store.replace(record.client_id, leak) for _ in range(5)))
    assert len([r for r in results if r is not None]) == 1
    stored = await store.get(record.client_id)
    assert stored is not None and stored.leaked_secret_hash == record.secret_hash
    assert await store.replace("mavio_client_NoSuchApp", leak) is None
