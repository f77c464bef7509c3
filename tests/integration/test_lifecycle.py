"""Service processes: SIGTERM drains without losing a request; the launcher's processes."""

from __future__ import annotations

import asyncio
import os
import signal

from services.stack.supervisor import Supervisor, child_env
from shared import subjects
from shared.bus import Bus
from shared.errors import OAuthError
from shared.lifecycle import HealthReply, HealthRequest
from tests.support.polling import eventually
from tests.support.system import Servers, running_system


async def _wait_instances(bus: Bus, want: int, timeout: float = 30) -> set[str]:
    seen: set[str] = set()
    deadline = asyncio.get_running_loop().time() + timeout
    while len(seen) < want:
        try:
            reply = await bus.request(subjects.op("registry", "health"), HealthRequest(), HealthReply)
            seen.add(reply.instance)
        except OAuthError:
            await asyncio.sleep(0.1)
        assert asyncio.get_running_loop().time() < deadline, "replicas did not come up"
    return seen


async def _answers(bus: Bus) -> str | None:
    """The instance that answered a health request, or None when none did in time."""
    try:
        return (await bus.request(subjects.op("registry", "health"), HealthRequest(), HealthReply)).instance
    except OAuthError:
        return None


async def test_sigterm_on_one_of_two_replicas_under_load_loses_no_request() -> None:
    servers = Servers.start()
    env = child_env(
        {
            "MAVIO_NATS_URL": servers.nats.url,
            "MAVIO_REDIS_URL": servers.redis.url,
            "MAVIO_LOG_LEVEL": "warning",
        }
    )
    sup = Supervisor(env, identities=servers.identities())
    first = sup.spawn("registry-1", "services.registry")
    sup.spawn("registry-2", "services.registry")
    nc = await servers.connect()
    bus = Bus(nc, timeout=10)
    try:
        await _wait_instances(bus, 2)
        results: list[str] = []
        failures: list[str] = []
        stop = asyncio.Event()

        async def worker() -> None:
            while not stop.is_set():
                try:
                    reply = await bus.request(subjects.op("registry", "health"), HealthRequest(), HealthReply)
                    results.append(reply.instance)
                except OAuthError as exc:
                    failures.append(exc.description)

        async def answered() -> tuple[int, int]:
            return len(results), len(set(results))  # answers, replicas that answered

        workers = [asyncio.create_task(worker()) for _ in range(32)]
        await eventually(answered, lambda got: got[0] > 100 and got[1] == 2, timeout=60)
        before = len(results)
        os.kill(first.proc.pid, signal.SIGTERM)
        rc = await asyncio.to_thread(first.proc.wait, 30)
        await eventually(answered, lambda got: got[0] > before + 100, timeout=60)  # the other goes on
        stop.set()
        await asyncio.gather(*workers)
        assert rc == 0, f"replica exited with {rc}"
        assert failures == [], failures[:5]
        assert before > 100 and len(results) > before + 100
        assert len(set(results)) == 2  # both replicas answered before the drain
    finally:
        sup.stop_all()
        await nc.drain()
        servers.stop()


async def test_killed_replica_leaves_the_other_answering() -> None:
    servers = Servers.start()
    env = child_env({"MAVIO_NATS_URL": servers.nats.url, "MAVIO_REDIS_URL": servers.redis.url})
    sup = Supervisor(env, identities=servers.identities())
    a = sup.spawn("registry-1", "services.registry")
    sup.spawn("registry-2", "services.registry")
    nc = await servers.connect()
    bus = Bus(nc, timeout=2)
    try:
        await _wait_instances(bus, 2)
        a.proc.kill()
        a.proc.wait()
        await eventually(lambda: _answers(bus), lambda instance: instance is not None)  # the server saw it go
        seen = {
            (await bus.request(subjects.op("registry", "health"), HealthRequest(), HealthReply)).instance
            for _ in range(20)
        }
        assert len(seen) == 1
    finally:
        sup.stop_all()
        await nc.drain()
        servers.stop()


async def test_a_killed_service_process_shows_up_in_readyz() -> None:
    others = tuple(s for s in subjects.SERVICES if s != "token")
    async with running_system(services=others) as sut:
        env = child_env(
            {
                "MAVIO_NATS_URL": sut.settings.nats_url,
                "MAVIO_REDIS_URL": sut.settings.redis_url,
                "MAVIO_LOG_LEVEL": "warning",
            }
        )
        sup = Supervisor(env, identities=sut.servers.identities())
        token = sup.spawn("token-1", "services.token")
        try:
            await sut.wait_service("token", timeout=30)
            async with sut.http.get(sut.url("/readyz")) as resp:
                assert resp.status == 200, await resp.text()
            token.proc.kill()
            await asyncio.to_thread(token.proc.wait, 10)
            async with sut.http.get(sut.url("/readyz")) as resp:
                body = await resp.json()
            assert resp.status == 503
            assert body["down"] == ["token"]
        finally:
            sup.stop_all()
