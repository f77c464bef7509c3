"""Scale with data (issue 10, goal 5).

1. Verification over the bus at 10^3, 10^5 and 10^6 live grants (each a real first pair, counted in
   every index, seeded as an exchange writes them): p50/p99 at each level, which should stay within
   1.2x of each other (every read is by key: O(1)).
2. Redis memory from ``INFO memory`` deltas: per grant (the delta of seeding the last level, divided by
   its grants), and per live access token (the drop when the access tokens of a sample of grants are
   deleted with their family-member entries).
3. The sweeper: 10^6 families falling due within one minute (their work-list and index entries, as
   issued grants leave them), swept by ``services.revocation``'s own sweeper in this process while a
   monitor samples the event loop's lag; done within two minutes of the last due time.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from typing import Any

import msgspec
import redis.asyncio as aioredis
from nats.aio.client import Client as NATS

from bench.load import Window
from bench.measures import Measure, pct
from bench.stack import Stack, seed_grants
from bench.verify import verify_load
from shared.grants import keys as grant_keys
from shared.tokens import Signer, parse

SAMPLE_TOKENS = 2000  # verified at each level, drawn from every grant seeded so far
MEMORY_SAMPLE = 10_000  # grants whose access tokens are deleted to price one access token
LAG_SAMPLE = 0.005  # seconds between the loop-lag monitor's wake-ups


async def used_memory(redis: Any) -> int:
    return int((await redis.info("memory"))["used_memory"])


async def verify_at_scale(
    stack: Stack, nc: NATS, pids: dict[str, int], levels: list[int], timing: dict[str, Any], concurrency: int
) -> tuple[dict[str, Window], list[Measure]]:
    redis = aioredis.Redis.from_url(stack.settings.redis_url)
    windows: dict[str, Window] = {}
    grants: list[tuple[str, str, str]] = []
    per_grant = float("nan")
    try:
        for level in sorted(levels):
            add = level - len(grants)
            before, started = await used_memory(redis), time.perf_counter()
            grants += await seed_grants(stack.settings, add, start=len(grants))
            took = time.perf_counter() - started
            per_grant = (await used_memory(redis) - before) / add
            print(
                f"scale: {level:,} grants ({add:,} seeded in {took:.0f}s, {per_grant:,.0f} B each)",
                flush=True,
            )
            sample = [token for _, _, token in random.sample(grants, min(SAMPLE_TOKENS, len(grants)))]
            label = f"verify at {level:,} grants"
            windows[label] = await verify_load(
                nc, sample, pids=pids, concurrency=concurrency, label=label, **timing
            )
        per_token = await _access_token_bytes(redis, stack, [t for _, _, t in grants[:MEMORY_SAMPLE]])
    finally:
        await redis.aclose()
    return windows, [_spread(windows), _memory(per_grant, per_token, len(grants))]


async def _access_token_bytes(redis: Any, stack: Stack, tokens: list[str]) -> float:
    """Memory freed per access token when ``tokens`` (and their family-member entries) are deleted."""
    signer = Signer(stack.settings.hmac_key)
    before = await used_memory(redis)
    pipe = redis.pipeline(transaction=False)
    for token in tokens:
        parsed = parse(token, "at")
        assert parsed is not None
        key = grant_keys.access_token(parsed.family, signer.sign(token))
        pipe.delete(key)
        pipe.zrem(grant_keys.family_members(parsed.family), key)
    await pipe.execute()
    return (before - await used_memory(redis)) / len(tokens)


def _spread(windows: dict[str, Window]) -> Measure:
    p50s = [w.p50_ms for w in windows.values()]
    p99s = [w.p99_ms for w in windows.values()]
    spread50, spread99 = max(p50s) / min(p50s), max(p99s) / min(p99s)
    levels = ", ".join(
        f"{label.split(' at ')[1]}: p50 {w.p50_ms:.2f} / p99 {w.p99_ms:.2f} ms"
        for label, w in windows.items()
    )
    return Measure(
        "verification p50/p99 from 10^3 to 10^6 live grants",
        f"{levels}; largest/smallest p50 {spread50:.2f}x, p99 {spread99:.2f}x",
        "within 1.2x of each other",
        spread50 <= 1.2 and spread99 <= 1.2,
        {"p50_spread": spread50, "p99_spread": spread99},
    )


def _memory(per_grant: float, per_token: float, grants: int) -> Measure:
    return Measure(
        "Redis memory per live access token / per grant with its indexes",
        f"{per_token:,.0f} B per access token, {per_grant:,.0f} B per grant "
        f"(INFO memory deltas at {grants:,} grants)",
        "≤ 512 B per access token, ≤ 2,048 B per grant",
        per_token <= 512 and per_grant <= 2048,
        {"bytes_per_access_token": per_token, "bytes_per_grant": per_grant},
    )


# ---- the sweeper -----------------------------------------------------------------------------------


async def _seed_indexes(
    redis: Any, count: int, due_guess: float, spread: float, apps: int = 100
) -> list[str]:
    """``count`` families counted in their app's and user's indexes; their work-list members, in order of
    falling due (the work list itself is written afterwards, by ``_seed_queue``)."""
    pipe = redis.pipeline(transaction=False)
    clients = [f"mavio_client_{uuid.uuid4().hex[:16]}" for _ in range(apps)]
    members = []
    for i in range(count):
        cid, uid, fam = clients[i % apps], f"usr_sweep{i // apps:07d}", f"{i:016d}"
        due = due_guess + spread * i / count  # an index's score is not what the sweeper reads
        members.append(grant_keys.expiry_member(cid, fam, uid))
        pipe.zadd(grant_keys.app_families(cid), {fam: due})
        pipe.hincrby(grant_keys.app_grant_users(cid), uid, 1)
        pipe.zadd(grant_keys.user_families(uid), {fam: due})
        if len(pipe) >= 20_000:
            await pipe.execute()
    await pipe.execute()
    return members


async def _seed_queue(redis: Any, members: list[str], first_due: float, spread: float) -> None:
    """The sweeper's work list: ``members`` falling due evenly over ``spread`` seconds from ``first_due``
    (a thousand members per ZADD: seconds even for 10^6, so they fall due as planned on a slow machine)."""
    count, queue = len(members), grant_keys.expiry_queue()
    pipe = redis.pipeline(transaction=False)
    for start in range(0, count, 1000):
        chunk = enumerate(members[start : start + 1000], start)
        pipe.zadd(queue, {m: first_due + spread * i / count for i, m in chunk})
        if len(pipe) >= 50:
            await pipe.execute()
    await pipe.execute()


async def _lag_monitor(stop: asyncio.Event, lags: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        before = loop.time()
        await asyncio.sleep(LAG_SAMPLE)
        lags.append(loop.time() - before - LAG_SAMPLE)


async def sweeper_at_scale(stack: Stack, nc: NATS, count: int, *, interval: float = 1.0) -> Measure:
    from services.revocation.handlers import build_sweeper
    from shared.events import ensure_audit_stream
    from shared.lifecycle import ServiceContext
    from shared.store import make_redis

    redis = make_redis(stack.settings)  # the revocation service's own client (hiredis packing included)
    settings = msgspec.structs.replace(stack.settings, sweep_interval=interval)
    try:
        await redis.flushall(asynchronous=True)  # 10^6 grants take longer to free than a reply may
        await ensure_audit_stream(nc)
        spread = min(60.0, max(5.0, count / 16_000))  # 10^6: due over one minute
        print(f"sweeper: seeding {count:,} families falling due over {spread:.0f} s", flush=True)
        members = await _seed_indexes(redis, count, time.time(), spread)
        first_due = time.time() + 5  # the indexes are in place; the work list takes a few seconds more
        await _seed_queue(redis, members, first_due, spread)
        last_due = first_due + spread
        async with contextlib.AsyncExitStack() as exits:
            sweeper = build_sweeper(ServiceContext(settings, nc, redis, exits))
            stop, lags = asyncio.Event(), list[float]()
            monitor = asyncio.create_task(_lag_monitor(stop, lags))
            swept, deadline = 0, last_due + 300
            while time.time() < deadline:
                swept += await sweeper.sweep_once()
                if time.time() > last_due and await redis.zcard(grant_keys.expiry_queue()) == 0:
                    break
                await asyncio.sleep(interval)
            done_after = time.time() - last_due
            stop.set()
            await monitor
            await sweeper.lease.release()
        left = await redis.zcard(grant_keys.expiry_queue())
    finally:
        await redis.aclose()
    lags.sort()
    worst, p99 = lags[-1] * 1000, pct(lags, 99) * 1000
    print(
        f"  [sweeper] {swept:,} swept, {left:,} left, done {done_after:.1f}s after the last due; "
        f"loop lag max {worst:.1f} ms",
        flush=True,
    )
    return Measure(
        "sweeper: 10^6 grants falling due within one minute",
        f"{swept:,} swept ({left:,} left), done {done_after:.1f} s after the last one fell due; "
        f"event-loop lag max {worst:.1f} ms, p99 {p99:.1f} ms",
        "no stall over 50 ms; done within 120 s of the last expiry",
        left == 0 and swept == count and worst <= 50 and done_after <= 120,
        {"swept": swept, "left": left, "done_after_s": done_after, "lag_max_ms": worst, "lag_p99_ms": p99},
    )
