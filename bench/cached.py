"""Cached verification through ``shared.verify_client.TokenVerifier`` (its event-evicted cache): a hot set
of tokens, each verified once over the bus to fill the cache, then verified in a loop in this process
(what a resource server pays per request once the answer is cached).

A cache hit never waits, so concurrent workers would add nothing but scheduling: one loop verifies,
yielding to the event loop every ``YIELD_EVERY`` calls so revocation events are still handled."""

from __future__ import annotations

import asyncio
import os
import statistics
import time

from nats.aio.client import Client as NATS

from bench.load import CpuMeter, Window, median_window, window_of
from shared.verify_client import TokenVerifier

YIELD_EVERY = 1000


async def _window(verifier: TokenVerifier, tokens: list[str], duration: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors, n, clock = 0, len(tokens), time.perf_counter
    end = clock() + duration
    i = 0
    while clock() < end:
        for _ in range(YIELD_EVERY):
            started = clock()
            active = (await verifier.verify(tokens[i % n])).active
            latencies.append(clock() - started)
            errors += not active
            i += 7919
        await asyncio.sleep(0)
    return latencies, errors


async def cached_verify_load(
    nc: NATS,
    tokens: list[str],
    *,
    pids: dict[str, int],
    concurrency: int,
    warmup: float,
    duration: float,
    repeats: int,
    label: str,
) -> Window:
    del concurrency  # see the module docstring
    verifier = TokenVerifier(nc, cache_ttl=300)
    await verifier.start()
    try:
        for token in tokens:
            if not (await verifier.verify(token)).active:
                raise RuntimeError("a seeded token is not active")
        await _window(verifier, tokens, warmup)
        windows = []
        for r in range(repeats):
            meter = CpuMeter(pids | {"requester": os.getpid()})
            latencies, errors = await _window(verifier, tokens, duration)
            wall, cpu = meter.cores()
            w = window_of(latencies, errors, wall, cpu)
            print(f"  [{label}] window {r + 1}: {w.line()}", flush=True)
            windows.append(w)
        if len(verifier) != len(tokens):
            raise RuntimeError(f"the cache holds {len(verifier)} of {len(tokens)} hot tokens")
        print(f"  [{label}] p50 {statistics.median(w.p50_ms for w in windows) * 1000:.1f} µs", flush=True)
        return median_window(windows)
    finally:
        await verifier.close()
