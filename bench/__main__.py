"""``python -m bench`` (``make bench``): every scenario of issue 10 in one run, side by side.

1. token verification over the bus with 1 and 2 token-service replicas, through the batching
   ``shared.verify_client.TokenVerifier`` (``token.verify_many``, 1 replica), and through its
   event-evicted cache;
2. the bus and store ceilings of this machine (``../shared/peers/limits``);
3. the token endpoint over HTTP (refresh with rotation, code exchange with PKCE, code exchange with
   ``openid``: an RS256 ID token signed, with the cost of one signature), Mavio beside
   node-oidc-provider (``../shared/peers/oidc-provider``);
4. developer webhooks (``bench.webhooks``): revocation reply to the receiver's 2xx, deliveries/s;
5. device polling (RFC 8628): 10,000 pending device codes each polled every 5 s (``bench.device_polling``).
Prints each window and the medians; writes ``bench/results/<date>.json`` and ``<date>.md``."""

from __future__ import annotations

import argparse
import os
import sys

from nats.aio.client import Client as NATS

from bench import ceilings, report, webhooks
from bench.cached import cached_verify_load
from bench.ceilings import Ceiling
from bench.leak_secret_lookup import run_leak_secret_lookup
from bench.leak_visibility import run_leak_visibility
from bench.load import Window
from bench.measures import Measure
from bench.scale import sweeper_at_scale, verify_at_scale
from bench.stack import Stack, connect, seed_access_tokens, seed_grants, wait_instances
from bench.verify import batching_verify_load, verify_load
from bench.visibility import revocation_visibility
from shared.config import replicas
from shared.verify_client.batch import DEFAULT_MAX_BATCH


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("-c", "--concurrency", type=int, default=100, help="requests in flight (verify and echo)")
    p.add_argument("-d", "--duration", type=float, default=4.0, help="seconds per measured window")
    p.add_argument("-w", "--warmup", type=float, default=2.0)
    p.add_argument("-r", "--repeats", type=int, default=3, help="measured windows per scenario")
    p.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    p.add_argument(
        "--batch-callers", type=int, default=256, help="concurrent callers of the batching verifier"
    )
    p.add_argument(
        "--verify-batch",
        type=int,
        nargs="*",
        default=[DEFAULT_MAX_BATCH],
        help="batching verifier's max_batch: the first is the 'verify x1 batching' row, each other a row "
        "of its own (none: skip the batching rows)",
    )
    p.add_argument("--tokens", type=int, default=2000, help="distinct access tokens verified")
    p.add_argument("--hot-set", type=int, default=1000, help="tokens in the cached-verification hot set")
    p.add_argument("--revocations", type=int, default=100, help="revocations timed for cache visibility")
    p.add_argument(
        "--leak-reports", type=int, default=100, help="leak reports timed for cache visibility (0: skip)"
    )
    p.add_argument(
        "--scale",
        type=int,
        nargs="*",
        default=[1_000, 100_000, 1_000_000],
        help="live grants at which verification is measured (none: skip goal 5's verification and memory)",
    )
    p.add_argument(
        "--webhook-events", type=int, default=1000, help="webhook events timed and counted (0: skip)"
    )
    p.add_argument("--sweep", type=int, default=1_000_000, help="families the sweeper expires (0: skip)")
    p.add_argument("--no-ceilings", action="store_true")
    p.add_argument(
        "--python-load", action="store_true", help="drive the refresh windows with aiohttp, not wrk"
    )
    p.add_argument("--gateways", type=int, default=1, help="gateway processes sharing the HTTP port")
    p.add_argument(
        "--http-tokens",
        type=int,
        default=replicas({}, "token"),
        help="token replicas behind the HTTP scenarios (default: as make run starts them)",
    )
    p.add_argument("--no-peer", action="store_true", help="skip the HTTP scenarios beside node-oidc-provider")
    p.add_argument(
        "--no-breakdown",
        action="store_true",
        help="skip the breakdown rows (refresh against the bench-only stack and at MAVIO_LOG_LEVEL=warning)",
    )
    p.add_argument(
        "--no-loadgen", action="store_true", help="skip goal 2's rows (refresh driven by loadgen.py)"
    )
    p.add_argument("--http-concurrency", type=int, default=50, help="HTTP workers (refresh, exchange)")
    p.add_argument(
        "--codes-per-window",
        type=int,
        default=150,
        help="code exchanges per window (the peer keeps ~1,000-2,000 entries)",
    )
    p.add_argument(
        "--exchange-windows",
        type=int,
        default=15,
        help="measured code-exchange windows (short, count-based windows: more of them than --repeats)",
    )
    p.add_argument(
        "--device-codes",
        type=int,
        default=10_000,
        help="pending device codes polled every 5 s over HTTP (RFC 8628; 0: skip)",
    )
    return p.parse_args(argv)


async def run_visibility(stack: Stack, a: argparse.Namespace) -> list[Measure]:
    """Goal 4's second half, with one token replica and the revocation service running."""
    stack.spawn("services.revocation", "revocation")
    nc = await connect(stack.settings)
    try:
        await wait_instances(nc, "revocation", 1)
    finally:
        await nc.drain()
    grants = await seed_grants(stack.settings, a.revocations, start=10_000_000)
    print(f"revocation visibility: {a.revocations} revocations, 3 caches", flush=True)
    return [await revocation_visibility(stack.settings.nats_url, grants)]


async def run_scale(stack: Stack, a: argparse.Namespace) -> tuple[dict[str, Window], list[Measure]]:
    """Goal 5 with the token replicas left running: verification and memory at each level of live
    grants, then (the store flushed) the sweeper on ``--sweep`` families."""
    nc = await connect(stack.settings)
    results: dict[str, Window] = {}
    measures: list[Measure] = []
    timing = {"warmup": a.warmup, "duration": a.duration, "repeats": a.repeats}
    named = {f"token-{i + 1}": p.pid for i, p in enumerate(stack.replicas) if "token" in str(p.args)}
    named |= {
        "nats-server": stack.nats.proc.pid,
        "redis-server": stack.redis.proc.pid,
        "requester": os.getpid(),
    }
    try:
        if a.scale:
            print(f"verify at scale: {', '.join(f'{n:,}' for n in a.scale)} live grants", flush=True)
            results, measures = await verify_at_scale(stack, nc, named, a.scale, timing, a.concurrency)
        if a.sweep:
            stack.stop_module("services.revocation")  # its own sweeper would take the work (and the lease)
            measures.append(await sweeper_at_scale(stack, nc, a.sweep))
    finally:
        await nc.drain()
    return results, measures


async def run_verify(stack: Stack, a: argparse.Namespace) -> dict[str, Window]:
    tokens = await seed_access_tokens(stack.settings, a.tokens)
    nc = await connect(stack.settings)
    results: dict[str, Window] = {}
    timing = {"warmup": a.warmup, "duration": a.duration, "repeats": a.repeats}
    try:
        for count in sorted(a.replicas):
            pids = await stack.scale_token(nc, count)
            named = {f"token-{i + 1}": pid for i, pid in enumerate(pids)}
            named |= {"nats-server": stack.nats.proc.pid, "redis-server": stack.redis.proc.pid}
            label = f"verify x{count}"
            print(f"{label}: {a.concurrency} in flight, {len(tokens)} tokens", flush=True)
            results[label] = await verify_load(
                nc,
                tokens,
                pids=named | {"requester": os.getpid()},
                concurrency=a.concurrency,
                label=label,
                **timing,
            )
            if count == min(a.replicas) == 1:
                results |= await run_batching(nc, tokens, named | {"requester": os.getpid()}, a)
            if count == min(a.replicas):
                print(f"cached verify: {a.concurrency} in flight, hot set of {a.hot_set}", flush=True)
                results["cached verify"] = await cached_verify_load(
                    nc,
                    tokens[: a.hot_set],
                    pids=named,
                    concurrency=a.concurrency,
                    label="cached verify",
                    **timing,
                )
    finally:
        await nc.drain()
    return results


async def run_batching(
    nc: NATS, tokens: list[str], pids: dict[str, int], a: argparse.Namespace
) -> dict[str, Window]:
    """Issue 28, goal 3: the batching verifier with 1 token replica (``verify x1 batching``), and one row
    per other batch limit asked for (``verify x1 batching max N``)."""
    results: dict[str, Window] = {}
    timing = {"warmup": a.warmup, "duration": a.duration, "repeats": a.repeats}
    for i, max_batch in enumerate(a.verify_batch):
        label = "verify x1 batching" if i == 0 else f"verify x1 batching max {max_batch}"
        print(f"{label}: {a.batch_callers} callers, at most {max_batch} tokens per message", flush=True)
        results[label] = await batching_verify_load(
            nc, tokens, max_batch=max_batch, pids=pids, concurrency=a.batch_callers, label=label, **timing
        )
    return results


def run_ceilings(stack: Stack, a: argparse.Namespace) -> dict[str, Ceiling]:
    peers = ceilings.peers_dir()
    if peers is None:
        print("ceilings: ../shared/peers not found; skipped", flush=True)
        return {}
    timing = {"warmup": a.warmup, "duration": a.duration, "repeats": a.repeats}
    out: dict[str, Ceiling] = {}
    print(f"ceiling: nats_echo.py (msgspec, {a.concurrency} in flight)", flush=True)
    echo = ceilings.nats_echo(peers, stack.settings.nats_url, inflight=a.concurrency, **timing)
    if echo:
        out["nats echo"] = echo
    print("ceiling: redis_loop.py (GET, 50 tasks)", flush=True)
    get = ceilings.redis_get(peers, stack.redis.port, concurrency=50, **timing)
    if get:
        out["redis GET"] = get
    return out


def main(argv: list[str]) -> int:
    a = parse_args(argv)
    load_before = os.getloadavg()[0]
    stack = Stack.start()
    results: dict[str, Window | Ceiling] = {}
    measures: list[Measure] = []
    try:
        import uvloop

        results |= uvloop.run(run_verify(stack, a))
        measures += uvloop.run(run_visibility(stack, a))
        if a.leak_reports:
            measures.append(uvloop.run(run_leak_visibility(a.leak_reports)))
            measures.append(uvloop.run(run_leak_secret_lookup(2 * a.leak_reports, 10_000)))
        if a.webhook_events:
            measures += uvloop.run(webhooks.run(stack, a.webhook_events))
            stack.stop_module("services.webhooks")
        scaled, found = uvloop.run(run_scale(stack, a))
        results |= scaled
        measures += found
        for proc in stack.replicas:  # the ceilings get the machine to themselves
            proc.terminate()
        for proc in stack.replicas:
            proc.wait(20)
        stack.replicas.clear()
        if not a.no_ceilings:
            results |= run_ceilings(stack, a)
        if not a.no_peer:
            from bench.id_token_signing import signing_cost
            from bench.peer import run_peer_comparison

            results |= run_peer_comparison(stack, a)
            measures.append(signing_cost())
        if a.device_codes:
            from bench.device_polling import device_polling

            for proc in stack.replicas:  # the device scenario starts its own processes
                proc.terminate()
            for proc in stack.replicas:
                proc.wait(20)
            stack.replicas.clear()
            measures.append(device_polling(stack, codes=a.device_codes, seconds=a.duration * a.repeats))
    finally:
        stack.stop()
    report.write(
        results, measures, repeats=a.repeats, load_before=load_before, exchange_windows=a.exchange_windows
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
