"""Developer webhooks (issue 26) in ``make bench``: with the revocation and webhooks services running as
processes and a local receiver in this process (each delivery checked with the ``standardwebhooks``
library, answered 204):

1. latency: ``events`` users each revoke their grant (``revocation.grant.revoke``, as Connected apps
   does), one after another; the figure is the time from the revocation's reply to the receiver's
   answer to its ``authorization.revoked`` (p50/p99; goal p99 ≤ 250 ms);
2. throughput: ``events`` audit events written at once for ``apps`` apps; deliveries per second from
   the first write to the last delivery, with the CPU (cores) of each process meanwhile.

``python -m bench.webhooks`` runs only these (its own stack)."""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import sys
import time

import msgspec
import redis.asyncio as aioredis
from aiohttp import web
from nats.aio.client import Client as NATS
from standardwebhooks.webhooks import Webhook

from bench.load import CpuMeter
from bench.measures import Measure, pct
from bench.stack import BENCH_CLIENT, Stack, connect, seed_grants, wait_instances
from shared import keys, subjects
from shared.bus import Bus
from shared.config import Settings
from shared.events import publish_event
from shared.messages.events import TokensRevoked
from shared.messages.revocation import RevokeGrantReply, RevokeGrantRequest
from shared.sealing import Sealer

GIVE_UP = 10.0  # seconds: an event not delivered by then counts as missed


class Receiver:
    """Records when each delivery (by the ``sub`` it names) was answered."""

    def __init__(self, secret: str) -> None:
        self.verifier = Webhook(secret)
        self.arrived: dict[str, float] = {}
        self.waiting: dict[str, asyncio.Future[float]] = {}
        self.bad = 0
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hooks/{app}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        try:
            payload = self.verifier.verify(body, dict(request.headers))
        except Exception:
            self.bad += 1
            return web.Response(status=400)
        sub = payload["data"].get("sub", "")
        now = time.perf_counter()
        self.arrived[sub] = now
        waiter = self.waiting.pop(sub, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(now)
        return web.Response(status=204)

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


async def attach(settings: Settings, client_id: str, url: str, secret: str) -> None:
    """An app record with a webhook URL and its sealed secret (the fields the webhooks service reads)."""
    sealed = Sealer(settings.encryption_key).seal(secret.encode(), purpose=f"webhook:{client_id}")
    record = {"client_id": client_id, "webhook_url": url, "webhook_secret": sealed}
    redis = aioredis.Redis.from_url(settings.redis_url)
    try:
        await redis.set(keys.app(client_id), msgspec.json.encode(record))
    finally:
        await redis.aclose()


async def latency(nc: NATS, receiver: Receiver, grants: list[tuple[str, str, str]]) -> Measure:
    bus = Bus(nc, timeout=5)
    times: list[float] = []
    missed = 0
    for client_id, user_id, _ in grants:
        waiter = asyncio.get_running_loop().create_future()
        receiver.waiting[user_id] = waiter
        req = RevokeGrantRequest(user_id=user_id, client_id=client_id)
        await bus.request(subjects.REVOCATION_REVOKE_GRANT, req, RevokeGrantReply)
        replied = time.perf_counter()
        try:
            arrived = await asyncio.wait_for(waiter, GIVE_UP)
            times.append(max(0.0, arrived - replied) * 1000)
        except TimeoutError:
            missed += 1
    times.sort()
    p50, p99 = pct(times, 50), pct(times, 99)
    print(f"  [webhook latency] p50 {p50:.1f} ms  p99 {p99:.1f} ms  missed {missed}", flush=True)
    return Measure(
        "webhook: revocation reply to the receiver's 2xx",
        f"p99 {p99:.1f} ms (p50 {p50:.1f}) over {len(grants)} revocations, {missed} missed",
        "p99 ≤ 250 ms",
        missed == 0 and p99 <= 250.0,
        {"p50_ms": p50, "p99_ms": p99, "events": len(grants), "missed": missed},
    )


async def throughput(
    nc: NATS, receiver: Receiver, clients: list[str], events: int, pids: dict[str, int]
) -> Measure:
    subs = [f"usr_tp{i}" for i in range(events)]
    loop = asyncio.get_running_loop()
    waiters: list[asyncio.Future[float]] = []
    for sub in subs:
        receiver.waiting[sub] = loop.create_future()
        waiters.append(receiver.waiting[sub])
    meter = CpuMeter(pids)
    started = time.perf_counter()
    for i, sub in enumerate(subs):
        event = TokensRevoked(
            at=time.time(),
            client_id=clients[i % len(clients)],
            families=[],
            user_id=sub,
            reason="user_revoked",
            grant_ended=True,
        )
        await publish_event(nc, event)
    await asyncio.wait(waiters, timeout=GIVE_UP + events / 50)
    got = [receiver.arrived[s] for s in subs if s in receiver.arrived]
    wall = (max(got) - started) if got else float("nan")
    _, cores = meter.cores()
    rate = len(got) / wall if got else 0.0
    cpu = "  ".join(f"{name} {c:.2f}" for name, c in cores.items())
    print(f"  [webhook throughput] {rate:.0f} deliveries/s ({len(got)} of {events})  cpu: {cpu}", flush=True)
    return Measure(
        "webhook deliveries per second to a local receiver",
        f"{rate:.0f}/s ({len(got)} of {events} over {len(clients)} apps); cores: {cpu}",
        "all delivered (no fixed goal)",
        len(got) == events,
        {"per_second": rate, "delivered": len(got), "events": events, "cpu": cores},
    )


async def run(stack: Stack, events: int = 1000, apps: int = 4) -> list[Measure]:
    """Both figures; starts the revocation (if absent) and webhooks services on ``stack``."""
    if not any("services.revocation" in str(p.args) for p in stack.replicas):
        stack.spawn("services.revocation", "revocation")
    webhooks = stack.spawn("services.webhooks", "webhooks")
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    receiver = Receiver(secret)
    await receiver.start()
    nc = await connect(stack.settings)
    clients = [BENCH_CLIENT, *(f"mavio_client_BenchHooks{i:05d}" for i in range(1, apps))]
    try:
        await wait_instances(nc, "revocation", 1)
        await wait_instances(nc, "webhooks", 1)
        for client_id in clients:
            await attach(
                stack.settings, client_id, f"http://127.0.0.1:{receiver.port}/hooks/{client_id}", secret
            )
        grants = await seed_grants(stack.settings, events, start=30_000_000)
        print(f"webhooks: {events} revocations, then {events} events over {apps} apps", flush=True)
        measures = [await latency(nc, receiver, grants)]
        revocation = next(p.pid for p in stack.replicas if "services.revocation" in str(p.args))
        pids = {
            "webhooks": webhooks.pid,
            "revocation": revocation,
            "nats-server": stack.nats.proc.pid,
            "redis-server": stack.redis.proc.pid,
            "bench (receiver)": os.getpid(),
        }
        measures.append(await throughput(nc, receiver, clients, events, pids))
        if receiver.bad:
            raise RuntimeError(f"{receiver.bad} deliveries did not verify")
        return measures
    finally:
        await nc.drain()
        await receiver.close()
        await _forget(stack.settings, clients)


async def _forget(settings: Settings, clients: list[str]) -> None:
    """Remove the app records again: the scenarios after this one run without app records."""
    redis = aioredis.Redis.from_url(settings.redis_url)
    try:
        await redis.delete(*(keys.app(c) for c in clients))
    finally:
        await redis.aclose()


def main(argv: list[str]) -> int:
    import uvloop

    events = int(argv[0]) if argv else 1000
    stack = Stack.start()
    try:
        measures = uvloop.run(run(stack, events))
    finally:
        stack.stop()
    for m in measures:
        print(f"{m.scenario}: {m.figure} (goal {m.goal}: {'met' if m.met else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
