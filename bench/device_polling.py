"""Device polling (RFC 8628 §3.4-3.5) at the token endpoint, over HTTP through the gateway.

``codes`` device authorizations are pending (written by the grant store itself, as the token service
writes them), and each is polled every ``interval`` seconds, open-loop, round robin: the server sees
``codes / interval`` polls per second (10,000 / 5 s = 2,000/s). Every answer must be
``authorization_pending`` (anything else, ``slow_down`` included, is an error). Reports the polls per
second reached, poll latency p50/p99, and the CPU per poll of each process (microseconds of CPU time
per poll: cores x wall / polls). ``python -m bench.device_polling`` runs it alone.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

import aiohttp
import nats
import redis.asyncio as aioredis

from bench.bench_only import MavioApp, _mavio_app
from bench.load import CpuMeter, percentile
from bench.measures import Measure
from bench.stack import Stack, wait_instances
from services.stack.embedded import free_port, wait_port
from shared.bus import Bus
from shared.grants.records import DeviceRecord
from shared.grants.store import RedisGrantStore
from shared.messages.registry import UpdateAppRequest
from shared.registry_client import RegistryClient
from shared.tokens import Signer, mint, new_family_id

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
INTERVAL = 5
IN_FLIGHT = 400  # polls outstanding at most (a slower server shows as latency, then as a lower rate)


async def seed_devices(stack: Stack, client_id: str, count: int) -> list[str]:
    """``count`` pending device authorizations of ``client_id``: their device codes."""
    redis = aioredis.Redis.from_url(stack.settings.redis_url)
    store = RedisGrantStore(redis, access_ttl=3600, refresh_ttl=86_400, replay_window_ms=0, hold_ttl=600)
    signer, now, codes = Signer(stack.settings.hmac_key), int(time.time()), []

    async def one(i: int) -> None:
        family = new_family_id()
        code = mint("dc", family)
        record = DeviceRecord(
            family=family, client_id=client_id, scope="meetings:read", requested_at=now, expires_at=now + 3600
        )
        await store.start_device(signer.sign(code), signer.sign(f"BENCH{i}"), record, interval=INTERVAL)
        codes.append(code)

    for start in range(0, count, 50):  # within the client's connection pool
        await asyncio.gather(*(one(i) for i in range(start, min(count, start + 50))))
    await redis.aclose()
    return codes


async def enable_device_flow(stack: Stack, app: MavioApp) -> None:
    nc = await nats.connect(stack.settings.nats_url)
    try:
        req = UpdateAppRequest(user_id=app.owner_id, client_id=app.client_id, device_flow=True)
        await RegistryClient(Bus(nc, timeout=10)).update_app(req)
    finally:
        await nc.drain()


async def poll_load(
    url: str, app: MavioApp, codes: list[str], pids: dict[str, int], seconds: float
) -> Measure:
    rate = len(codes) / INTERVAL
    latencies: list[float] = []
    errors: dict[str, int] = {}
    slots = asyncio.Semaphore(IN_FLIGHT)
    auth = {"client_id": app.client_id, "client_secret": app.secret}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=IN_FLIGHT)) as http:

        async def one(code: str) -> None:
            t0 = time.perf_counter()
            try:
                form = {"grant_type": DEVICE_GRANT, "device_code": code, **auth}
                async with http.post(url, data=form) as resp:
                    error = (await resp.json()).get("error", str(resp.status))
            except Exception as exc:  # a refused connection, a timeout: counted, never fatal
                error = type(exc).__name__
            finally:
                slots.release()
            if error == "authorization_pending":
                latencies.append(time.perf_counter() - t0)
            else:
                errors[error] = errors.get(error, 0) + 1

        tasks: set[asyncio.Task[None]] = set()
        meter, start, n = CpuMeter(pids | {"requester": os.getpid()}), time.perf_counter(), 0
        while (now := time.perf_counter() - start) < seconds:
            while n < int(now * rate) + 1:  # every poll due by now, round robin over the codes
                await slots.acquire()
                task = asyncio.create_task(one(codes[n % len(codes)]))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                n += 1
            await asyncio.sleep(0.005)
        await asyncio.gather(*tasks)
        wall, cores = meter.cores()
    return _measure(sorted(latencies), errors, wall, cores, rate=rate, codes=len(codes))


def _measure(
    lat: list[float], errors: dict[str, int], wall: float, cores: dict[str, float], *, rate: float, codes: int
) -> Measure:
    polls = len(lat) + sum(errors.values())
    per_poll = {name: round(c * wall / max(1, polls) * 1e6, 1) for name, c in cores.items()}
    p50, p99 = percentile(lat, 50) * 1e3, percentile(lat, 99) * 1e3
    cpu = ", ".join(f"{name} {us} µs" for name, us in per_poll.items())
    return Measure(
        scenario="device polling",
        figure=(
            f"{codes:,} pending device codes polled every {INTERVAL} s: {polls / wall:,.0f} polls/s "
            f"(offered {rate:,.0f}), p50 {p50:.2f} ms, p99 {p99:.2f} ms, errors {errors or 0}; "
            f"CPU per poll: {cpu}"
        ),
        goal=f"{rate:,.0f} polls/s answered authorization_pending, no error",
        met=not errors and polls / wall >= 0.95 * rate,
        data={
            "polls_per_s": polls / wall,
            "p50_ms": p50,
            "p99_ms": p99,
            "errors": errors,
            "cpu_us": per_poll,
        },
    )


def device_polling(stack: Stack, *, codes: int = 10_000, seconds: float = 20.0) -> Measure:
    """Start registry, token and a gateway, seed ``codes`` device codes, poll them for ``seconds``."""
    port = free_port()
    stack.env |= {"MAVIO_HTTP_PORT": str(port), "MAVIO_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    procs = {
        name: stack.spawn(f"services.{name}", f"device-{name}") for name in ("registry", "token", "gateway")
    }

    async def run() -> Measure:
        nc = await nats.connect(stack.settings.nats_url)
        await wait_instances(nc, "registry", 1)
        await wait_instances(nc, "token", 1)
        await nc.drain()
        wait_port(port, procs["gateway"])
        app = await _mavio_app(stack)
        await enable_device_flow(stack, app)
        device_codes = await seed_devices(stack, app.client_id, codes)
        pids = {name: p.pid for name, p in procs.items()}
        pids |= {"nats-server": stack.nats.proc.pid, "redis-server": stack.redis.proc.pid}
        print(f"device polling: {codes:,} device codes, {codes / INTERVAL:,.0f} polls/s for {seconds:.0f} s")
        return await poll_load(f"http://127.0.0.1:{port}/oauth/token", app, device_codes, pids, seconds)

    try:
        return asyncio.run(run())
    finally:
        for name in ("registry", "token", "gateway"):
            stack.stop_module(f"services.{name}")


def main(argv: list[str]) -> int:
    codes = int(argv[0]) if argv else 10_000
    stack = Stack.start()
    try:
        measure = device_polling(stack, codes=codes)
    finally:
        stack.stop()
    print(measure.figure)
    return 0 if measure.met else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
