"""``python -m bench`` (``make bench``): token verification over the bus with 1 and 2 token-service
replicas, beside the bus and store ceilings measured in the same run; ``--peer`` adds refresh-with-rotation
over HTTP against node-oidc-provider. Prints each window and the medians; ``--json FILE`` saves them."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from typing import Any

from bench import ceilings
from bench.load import Window
from bench.stack import Stack, connect, seed_access_tokens
from bench.verify import verify_load


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("-c", "--concurrency", type=int, default=100, help="requests in flight (verify and echo)")
    p.add_argument("-d", "--duration", type=float, default=4.0, help="seconds per measured window")
    p.add_argument("-w", "--warmup", type=float, default=2.0)
    p.add_argument("-r", "--repeats", type=int, default=3, help="measured windows per scenario")
    p.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    p.add_argument("--tokens", type=int, default=2000, help="distinct access tokens verified")
    p.add_argument("--no-ceilings", action="store_true")
    p.add_argument(
        "--peer", action="store_true", help="also refresh-with-rotation vs node-oidc-provider (slow)"
    )
    p.add_argument("--peer-concurrency", type=int, default=50, help="refresh workers (--peer)")
    p.add_argument("--json", default=None, help="write the medians to this file")
    return p.parse_args(argv)


async def run_verify(stack: Stack, a: argparse.Namespace) -> dict[str, Window]:
    tokens = await seed_access_tokens(stack.settings, a.tokens)
    nc = await connect(stack.settings)
    results: dict[str, Window] = {}
    try:
        for count in sorted(a.replicas):
            pids = await stack.scale_token(nc, count)
            named = {f"token-{i + 1}": pid for i, pid in enumerate(pids)}
            named |= {"nats-server": stack.nats.proc.pid, "redis-server": stack.redis.proc.pid}
            named["requester"] = os.getpid()
            label = f"verify x{count}"
            print(f"{label}: {a.concurrency} in flight, {len(tokens)} tokens", flush=True)
            results[label] = await verify_load(
                nc,
                tokens,
                pids=named,
                concurrency=a.concurrency,
                warmup=a.warmup,
                duration=a.duration,
                repeats=a.repeats,
                label=label,
            )
    finally:
        await nc.drain()
    return results


def run_ceilings(stack: Stack, a: argparse.Namespace) -> dict[str, ceilings.Ceiling]:
    peers = ceilings.peers_dir()
    if peers is None:
        print("ceilings: ../shared/peers not found; skipped", flush=True)
        return {}
    timing = {"warmup": a.warmup, "duration": a.duration, "repeats": a.repeats}
    out: dict[str, ceilings.Ceiling] = {}
    print(f"ceiling: nats_echo.py (msgspec, {a.concurrency} in flight)", flush=True)
    echo = ceilings.nats_echo(peers, stack.settings.nats_url, inflight=a.concurrency, **timing)
    if echo:
        out["nats echo"] = echo
    print("ceiling: redis_loop.py (GET, 50 tasks)", flush=True)
    get = ceilings.redis_get(peers, stack.redis.port, concurrency=50, **timing)
    if get:
        out["redis GET"] = get
    return out


def report(
    verify: dict[str, Window], ceil: dict[str, ceilings.Ceiling], extra: dict[str, Any]
) -> dict[str, Any]:
    echo = ceil.get("nats echo")
    print("\n== medians ==")
    summary: dict[str, Any] = {}
    for label, w in verify.items():
        ratio = f"  = {w.rps / echo.rps:.0%} of the echo ceiling" if echo else ""
        print(f"{label:14s} {w.line()}{ratio}")
        summary[label] = asdict(w) | ({"of_echo_ceiling": w.rps / echo.rps} if echo else {})
    for label, c in ceil.items():
        print(f"{label:14s} {c.rps:9.0f} req/s  p50 {c.p50_ms:6.2f} ms  p99 {c.p99_ms:6.2f} ms  (ceiling)")
        summary[label] = asdict(c)
    for label, value in extra.items():
        print(f"{label:14s} {value}")
        summary[label] = value
    return summary


def main(argv: list[str]) -> int:
    a = parse_args(argv)
    stack = Stack.start()
    extra: dict[str, Any] = {}
    try:
        import uvloop

        verify = uvloop.run(run_verify(stack, a))
        for proc in stack.replicas:  # the ceilings get the machine to themselves
            proc.terminate()
        for proc in stack.replicas:
            proc.wait(20)
        stack.replicas.clear()
        ceil = {} if a.no_ceilings else run_ceilings(stack, a)
        if a.peer:
            from bench.peer import run_peer_comparison

            extra = run_peer_comparison(stack, a)
    finally:
        stack.stop()
    summary = report(verify, ceil, extra)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(summary, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
