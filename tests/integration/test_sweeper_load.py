"""100,000 expired families swept in one pass: the work list and each family's index entries are
seeded in bulk, and afterwards every family is uncounted (indexes, Active authorizations) and announced.
How long the event loop stalls meanwhile is a benchmark figure (``make bench``, ``bench/scale.py``, at
10^6 families), not an assertion here: on a shared machine it measures the scheduler."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from services.revocation.handlers import build_sweeper
from shared import subjects
from shared.events import AUDIT_STREAM, ensure_audit_stream
from shared.grants import keys as grant_keys
from shared.lifecycle import ServiceContext
from tests.support.system import System, start_system

TOTAL = 100_000
APPS = 50
FAMILIES_PER_USER = 2


@pytest.fixture(scope="module")
async def servers_only() -> AsyncIterator[System]:
    sut = await start_system({"MAVIO_SWEEP_INTERVAL": "0.2"}, services=(), gateway=False)
    await ensure_audit_stream(sut.nc)
    yield sut
    await sut.close()


async def seed(system: System) -> list[str]:
    """TOTAL expired families over APPS apps (two per user), in pipelined chunks. Returns the apps."""
    apps = [f"mavio_client_{uuid.uuid4().hex[:16]}" for _ in range(APPS)]
    past = time.time() - 60
    pipe = system.redis.pipeline(transaction=False)
    for i in range(TOTAL):
        cid = apps[i % APPS]
        uid = f"usr_{i // (APPS * FAMILIES_PER_USER):07d}{i % APPS:03d}"
        fam = f"{i:016d}"
        pipe.zadd(grant_keys.expiry_queue(), {grant_keys.expiry_member(cid, fam, uid): past})
        pipe.zadd(grant_keys.app_families(cid), {fam: past})
        pipe.hincrby(grant_keys.app_grant_users(cid), uid, 1)
        pipe.zadd(grant_keys.user_families(uid), {fam: past})
        if len(pipe) >= 20_000:
            await pipe.execute()
    await pipe.execute()
    return apps


async def test_sweeping_100k_expired_families_uncounts_and_announces_each(servers_only: System) -> None:
    system = servers_only
    apps = await seed(system)
    assert await system.redis.zcard(grant_keys.expiry_queue()) == TOTAL
    assert (
        sum([await system.redis.hlen(grant_keys.app_grant_users(c)) for c in apps])
        == TOTAL // FAMILIES_PER_USER
    )
    expired = 0

    async def count(_: object) -> None:
        nonlocal expired
        expired += 1

    sub = await system.nc.subscribe(subjects.EVENT_GRANT_EXPIRED, cb=count)
    async with contextlib.AsyncExitStack() as stack:
        sweeper = build_sweeper(ServiceContext(system.settings, system.nc, system.redis, stack))
        started = time.perf_counter()
        done = await sweeper.sweep_once()
        took = time.perf_counter() - started
        await sweeper.lease.release()
    await system.nc.flush()
    print(f"\nswept {done} families in {took:.2f}s ({done / took:,.0f}/s)")
    assert done == TOTAL
    assert await system.redis.zcard(grant_keys.expiry_queue()) == 0
    for cid in apps:
        assert await system.redis.zcard(grant_keys.app_families(cid)) == 0
        assert await system.redis.hlen(grant_keys.app_grant_users(cid)) == 0
    deadline = time.monotonic() + 10
    while expired < TOTAL and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await sub.unsubscribe()
    assert expired == TOTAL
    info = await system.nc.jetstream().stream_info(AUDIT_STREAM)
    assert info.state.messages == 0  # expiry is announced live only (shared.events.LIVE_ONLY)
