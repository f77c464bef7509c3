"""Which batch limit for ``token.exchange_many`` (``services.gateway.token_batch.MAX_BATCH``): CPU per
refresh of the gateway and the token service at several limits, in one run, rounds interleaved.

One stack (registry, token, and a gateway restarted for each limit with ``MAX_BATCH`` set), 50 workers
rotating their own refresh chains over HTTP for ``--seconds`` per window; CPU from ``/proc`` of each
process (less sensitive to a shared machine than throughput). A limit of 1 is the single subject alone
(no batching); 0 is 64 with a request alone sent as a batch of one (``--concurrency 1``: which is
cheaper for a lone request). ``python -m bench.token_batch_limits --limits 1,8,32,64 --rounds 3``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import nats
from nats.aio.msg import Msg

from bench.load import cpu_seconds
from bench.peer import prepare_mavio
from bench.stack import Stack
from services.stack.embedded import die_with_parent, wait_port
from shared import subjects

# Limit 0: the limit 64, and a request alone sent as a batch of one too (instead of ``token.exchange``).
PATCHED_GATEWAY = (
    "import runpy, sys; import services.gateway.token_batch as b; limit = int(sys.argv[1]); "
    "b.MAX_BATCH = limit or 64; "
    "limit or setattr(b.TokenBatcher, '_one', lambda self, *item: self._many([item])); "
    "runpy.run_module('services.gateway', run_name='__main__')"
)


def gateway_with(stack: Stack, limit: int, port: int) -> subprocess.Popen[bytes]:
    log = open(Path(stack.root.name) / f"gateway-{limit}.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "-c", PATCHED_GATEWAY, str(limit)],
        env=stack.env,
        stdout=log,
        stderr=log,
        preexec_fn=die_with_parent,
    )
    wait_port(port, proc)
    return proc


async def window(
    nats_url: str, url: str, auth: str, chains: list[str], seconds: float, pids: dict[str, int]
) -> dict[str, float]:
    """Refreshes for ``seconds``: successes, errors, CPU-ms per success of each process, and the mean
    number of requests per bus message (seen by a plain subscription to both exchange subjects)."""
    seen = {"messages": 0, "items": 0}

    async def count(msg: Msg) -> None:
        seen["messages"] += 1
        seen["items"] += max(1, msg.data.count(b'"request_id"'))

    nc = await nats.connect(nats_url)
    for subject in (subjects.TOKEN_EXCHANGE, subjects.TOKEN_EXCHANGE_MANY):
        await nc.subscribe(subject, cb=count)
    done = errors = 0
    headers = {"Authorization": auth}
    stop = time.monotonic() + seconds
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=len(chains))) as http:

        async def worker(i: int) -> None:
            nonlocal done, errors
            while time.monotonic() < stop:
                form = {"grant_type": "refresh_token", "refresh_token": chains[i]}
                async with http.post(url, data=form, headers=headers) as resp:
                    if resp.status == 200:
                        chains[i] = (await resp.json())["refresh_token"]
                        done += 1
                    else:
                        errors += 1

        await asyncio.gather(*(worker(i) for i in range(len(chains))))  # warm the connections
        stop = time.monotonic() + seconds
        done = errors = 0
        seen |= {"messages": 0, "items": 0}
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        started = time.monotonic()
        await asyncio.gather(*(worker(i) for i in range(len(chains))))
        wall = time.monotonic() - started
    used = {name: (cpu_seconds(pid) - before[name]) * 1000 / max(done, 1) for name, pid in pids.items()}
    await nc.drain()
    per_message = seen["items"] / max(seen["messages"], 1)
    return {"per_s": done / wall, "errors": errors, "per_message": per_message, **used}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limits", default="1,8,32,64")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--concurrency", type=int, default=50)
    a = parser.parse_args()
    limits = [int(x) for x in a.limits.split(",")]
    stack = Stack.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            target = prepare_mavio(stack, a.concurrency, Path(tmp))
            chains = target.rt_file.read_text().split()
        port = int(target.url.split(":")[2].split("/")[0])
        started = next(p for p in stack.replicas if p.pid == target.pids["gateway"])
        started.terminate()  # the gateway is started again for each limit
        started.wait(20)
        stack.replicas.remove(started)
        auth = "Basic " + base64.b64encode(f"{target.client_id}:{target.secret}".encode()).decode()
        results: dict[int, list[dict[str, float]]] = {limit: [] for limit in limits}
        for _ in range(a.rounds):
            for limit in limits:
                gateway = gateway_with(stack, limit, port)
                pids = {"gateway": gateway.pid, "token": target.pids["token-1"]}
                found = asyncio.run(
                    window(stack.settings.nats_url, target.url, auth, chains, a.seconds, pids)
                )
                results[limit].append(found)
                print(limit, {k: round(v, 3) for k, v in found.items()}, flush=True)
                gateway.terminate()
                gateway.wait(20)
        print("limit  refresh/s  per message  gateway ms  token ms  sum ms (medians; CPU-ms per refresh)")
        for limit, runs in results.items():
            med = {
                k: statistics.median(r[k] for r in runs) for k in ("per_s", "per_message", "gateway", "token")
            }
            print(
                f"{limit:5d}  {med['per_s']:9.0f}  {med['per_message']:11.1f}  {med['gateway']:10.3f}"
                f"  {med['token']:8.3f}  {med['gateway'] + med['token']:6.3f}"
            )
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
