"""A reported client secret found through the apps store's secret index (issue 27 review): the
registry's ``LeakedSecrets.report`` (real Redis, real ``RedisAppStore``; the publish a no-op) timed for
one live secret per report, with 10 apps and with 10,000 apps stored. Before the index every report
loaded every app and computed an HMAC per app, so its time grew with the number of apps; now it is one
HMAC and one index lookup, and both figures should be alike.

    python -m bench.leak_secret_lookup [--reports 200] [--apps 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
import time

import redis.asyncio as aioredis

from bench.measures import Measure, pct
from bench.stack import Stack
from services.registry.leaks import LeakedSecrets
from shared.apps.records import AppRecord
from shared.apps.store import RedisAppStore
from shared.logging import configure_logging
from shared.messages.events import CredentialLeaked
from shared.messages.leaks import LeakedCredential, ReportLeakedRequest
from shared.tokens import Signer, mint_client_secret, new_client_id

SIGNER = Signer(b"b" * 32)


async def _seed(store: RedisAppStore, count: int) -> list[str]:
    """``count`` confidential apps; their secrets."""
    now = int(time.time())
    secrets: list[str] = []
    for _ in range(count):
        secret = mint_client_secret()
        record = AppRecord(
            client_id=new_client_id(),
            owner_id="bench-owner",
            created_at=now,
            updated_at=now,
            secret_hash=SIGNER.sign(secret),
        )
        await store.insert(record, None)
        secrets.append(secret)
    return secrets


async def _timed(leaks: LeakedSecrets, secrets: list[str]) -> list[float]:
    """Milliseconds per report of one live secret (each secret reported once)."""
    out: list[float] = []
    for secret in secrets:
        item = LeakedCredential(token=secret, token_hash=hashlib.sha256(secret.encode()).hexdigest())
        start = time.perf_counter()
        reply = await leaks.report(ReportLeakedRequest(items=[item], actor="leak-reporter:bench"))
        out.append((time.perf_counter() - start) * 1000)
        assert reply.verdicts[0].revoked, "a seeded secret was not found"
    return sorted(out)


async def _published(_: CredentialLeaked) -> None:
    return None


async def leak_secret_lookup(redis_url: str, reports: int, apps: int) -> Measure:
    redis = aioredis.Redis.from_url(redis_url)
    try:
        store = RedisAppStore(redis)
        leaks = LeakedSecrets(store, SIGNER, _published)
        small: list[float] = []
        for _ in range(max(1, reports // 10)):  # 10 apps at a time (a reported secret is dead after)
            await redis.flushdb()
            small += await _timed(leaks, await _seed(store, 10))
        small.sort()
        await redis.flushdb()
        large = await _timed(leaks, (await _seed(store, apps))[:reports])
    finally:
        await redis.aclose()
    p99_small, p99_large = pct(small, 99), pct(large, 99)
    return Measure(
        scenario="leaked client secret lookup",
        figure=(
            f"p50 {pct(small, 50):.2f} ms / p99 {p99_small:.2f} ms with 10 apps; "
            f"p50 {pct(large, 50):.2f} ms / p99 {p99_large:.2f} ms with {apps:,} apps"
        ),
        goal="time independent of the number of apps (p99 at 10^4 apps < 3x p99 at 10 apps + 1 ms)",
        met=p99_large < 3 * p99_small + 1.0,
        data={"apps": apps, "reports": len(large), "small_ms": small, "large_ms": large},
    )


async def run_leak_secret_lookup(reports: int, apps: int) -> Measure:
    configure_logging(json=False, level="warning")
    stack = Stack.start()
    try:
        print(f"leaked client secret lookup: {reports} reports, 10 and {apps} apps", flush=True)
        return await leak_secret_lookup(stack.settings.redis_url, reports, apps)
    finally:
        stack.stop()


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.leak_secret_lookup", description=__doc__)
    p.add_argument("--reports", type=int, default=200)
    p.add_argument("--apps", type=int, default=10_000)
    a = p.parse_args(argv)
    measure = asyncio.run(run_leak_secret_lookup(a.reports, a.apps))
    print(
        f"{measure.scenario}: {measure.figure} (goal {measure.goal}: {'met' if measure.met else 'not met'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
