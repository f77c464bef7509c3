"""Only one sweeper works at a time (a Redis lease), and a holder that dies is replaced: in-process (a
crashed task never releases the lease; a graceful stop hands it over at once) and as real processes (the
holder is SIGKILLed; the other replica takes over after the lease TTL and sweeps what expired)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from services.revocation.domain import lease_ttl_ms
from services.revocation.handlers import build_sweeper
from services.revocation.sweeper import Sweeper
from services.stack.supervisor import Supervisor, child_env
from shared import keys
from shared.events import ensure_audit_stream
from shared.grants import keys as grant_keys
from shared.lifecycle import ServiceContext
from tests.support.system import System, start_system

INTERVAL = 0.2
LEASE_S = lease_ttl_ms(INTERVAL) / 1000
ENV = {"MAVIO_SWEEP_INTERVAL": str(INTERVAL)}


@pytest.fixture(scope="module")
async def servers_only() -> AsyncIterator[System]:
    sut = await start_system(ENV, services=(), gateway=False)
    await ensure_audit_stream(sut.nc)
    yield sut
    await sut.close()


async def seed_expired(system: System, n: int = 3) -> list[str]:
    """Families whose last refresh token is gone: counted in the indexes, due in the work list."""
    cid, past = f"mavio_client_{uuid.uuid4().hex[:16]}", time.time() - 5
    members = []
    for _ in range(n):
        fam, uid = uuid.uuid4().hex[:16], f"usr_{uuid.uuid4().hex[:16]}"
        members.append(grant_keys.expiry_member(cid, fam, uid))
        await system.redis.zadd(grant_keys.expiry_queue(), {members[-1]: past})
        await system.redis.zadd(grant_keys.app_families(cid), {fam: past})
        await system.redis.hincrby(grant_keys.app_grant_users(cid), uid, 1)
        await system.redis.zadd(grant_keys.user_families(uid), {fam: past})
    return members


async def swept(system: System, members: list[str], timeout: float) -> float:
    start = time.monotonic()
    while any([await system.redis.zscore(grant_keys.expiry_queue(), m) is not None for m in members]):
        assert time.monotonic() - start < timeout, "expired families were not swept"
        await asyncio.sleep(0.01)
    return time.monotonic() - start


async def counted_by(sweeper: Sweeper, n: int, timeout: float = 2) -> None:
    start = time.monotonic()
    while sweeper.swept < n:
        assert time.monotonic() - start < timeout, f"swept {sweeper.swept}, expected {n}"
        await asyncio.sleep(0.01)


async def holder(system: System, timeout: float = 5) -> str:
    start = time.monotonic()
    while (value := await system.redis.get(keys.sweep_lease())) is None:
        assert time.monotonic() - start < timeout, "nobody took the sweeper lease"
        await asyncio.sleep(0.01)
    return str(value.decode())


async def new_holder(system: System, old: str, timeout: float) -> tuple[str, float]:
    start = time.monotonic()
    while True:
        value = await system.redis.get(keys.sweep_lease())
        if value is not None and value.decode() != old:
            return value.decode(), time.monotonic() - start
        assert time.monotonic() - start < timeout, "the lease was not taken over"
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def two_sweepers(system: System) -> AsyncIterator[tuple[Sweeper, Sweeper]]:
    async with contextlib.AsyncExitStack() as stack:
        ctx = ServiceContext(system.settings, system.nc, system.redis, stack)
        pair = (build_sweeper(ctx), build_sweeper(ctx))
        for sweeper in pair:
            sweeper.start()
        try:
            yield pair
        finally:
            for sweeper in pair:
                await sweeper.close()


async def test_one_sweeper_at_a_time_and_a_crashed_holder_is_replaced(servers_only: System) -> None:
    system = servers_only
    async with two_sweepers(system) as (a, b):
        first = await holder(system)
        owner, other = (a, b) if first == a.lease.holder else (b, a)
        await asyncio.sleep(5 * INTERVAL)
        assert await holder(system) == owner.lease.holder  # no flapping while the holder lives
        await swept(system, await seed_expired(system), timeout=2 * INTERVAL + 1)
        await counted_by(owner, 3)
        assert other.swept == 0
        await owner.kill()  # a crash: the lease is not released
        killed_at = time.monotonic()
        members = await seed_expired(system)
        taken, waited = await new_holder(system, owner.lease.holder, timeout=LEASE_S + 2 * INTERVAL + 1)
        assert taken == other.lease.holder
        assert waited >= LEASE_S * 0.5  # it waited for the dead holder's lease to expire
        await swept(system, members, timeout=2 * INTERVAL + 1)
        await counted_by(other, 3)
    print(f"crashed holder replaced {time.monotonic() - killed_at:.2f}s later (lease {LEASE_S:.1f}s)")


async def test_a_gracefully_stopped_holder_hands_over_at_once(servers_only: System) -> None:
    system = servers_only
    async with two_sweepers(system) as (a, b):
        first = await holder(system)
        owner, other = (a, b) if first == a.lease.holder else (b, a)
        await owner.close()
        taken, waited = await new_holder(system, first, timeout=2 * INTERVAL + 1)
        assert taken == other.lease.holder and waited < LEASE_S
        await swept(system, await seed_expired(system), timeout=2 * INTERVAL + 1)


async def test_a_sigkilled_replica_is_taken_over_by_another_process(servers_only: System) -> None:
    system = servers_only
    await system.redis.delete(keys.sweep_lease())
    env = child_env(
        {
            "MAVIO_NATS_URL": system.settings.nats_url,
            "MAVIO_REDIS_URL": system.settings.redis_url,
            "MAVIO_SWEEP_INTERVAL": str(INTERVAL),
            "MAVIO_LOG_LEVEL": "warning",
        }
    )
    sup = Supervisor(env, identities=system.servers.identities())
    children = [sup.spawn(f"revocation-{i}", "services.revocation") for i in (1, 2)]
    try:
        await system.wait_service("revocation", timeout=30)
        first = await holder(system, timeout=30)
        pids = {c.proc.pid for c in children}
        holder_pid = int(first.split(":")[-2])
        assert holder_pid in pids
        os.kill(holder_pid, signal.SIGKILL)
        members = await seed_expired(system)
        taken, waited = await new_holder(system, first, timeout=LEASE_S + 2 * INTERVAL + 2)
        assert int(taken.split(":")[-2]) in pids - {holder_pid}
        await swept(system, members, timeout=2 * INTERVAL + 1)
        print(f"SIGKILLed holder replaced after {waited:.2f}s (lease {LEASE_S:.1f}s)")
    finally:
        await asyncio.to_thread(sup.stop_all)
