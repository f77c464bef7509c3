"""A whole system as real processes on loopback, for fault tests: nats-server (one, or a 3-node
cluster) and redis-server from ``tests.support.system.Servers``, every service with its replicas and
the gateway as child processes (``services.stack.supervisor``), so ``kill -9`` and SIGTERM are real.

``Fleet.system`` is a ``System`` without in-process services whose ``base_url`` is the child gateway's:
every helper of ``tests.support`` (accounts, apps, the consent flow, token requests) works on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
from nats.aio.client import Client as NATS

from services.stack.supervisor import Child, Supervisor, child_env
from shared import subjects
from shared.config import load_settings
from shared.lifecycle import HealthReply, connect_nats
from tests.support.system import System, start_system, unused_port

READY_TIMEOUT = 90.0  # a fleet of Python processes starting on a loaded 2-core machine
Drained = Callable[[str], Awaitable[None]]


@dataclass
class Fleet:
    system: System
    sup: Supervisor
    log_dir: Path
    instances: dict[str, set[str]] = field(default_factory=dict)  # health instance ids seen per service
    rotation: list[str] = field(default_factory=list)  # the gateways a load balancer sends to (base URLs)
    ports: dict[str, int] = field(default_factory=dict)  # gateway child name -> its HTTP port
    _serial: int = 0

    # ---- processes --------------------------------------------------------------------------------

    def replicas(self, name: str) -> list[Child]:
        """The live children of service ``name`` (or ``"gateway"``), oldest first."""
        return [c for c in self.sup.children if c.module == _module(name) and c.proc.poll() is None]

    def spawn(self, name: str, *, port: int | None = None) -> Child:
        """A new process of ``name``; a gateway listens on ``port`` (default: the system's)."""
        self._serial += 1
        if name != "gateway":
            return self.sup.spawn(f"{name}-{self._serial}", _module(name))
        port = port or self.system.settings.http_port
        env = {**self.sup.env, "MAVIO_HTTP_PORT": str(port)}  # same public URL (issuer) for all
        one = Supervisor(env, log_dir=self.log_dir, identities=self.sup.identities)
        child = one.spawn(f"gateway-{self._serial}", _module(name))
        self.sup.children.append(child)
        self.ports[child.name] = port
        return child

    async def kill(self, child: Child) -> None:
        """SIGKILL: the process gets no chance to drain or say goodbye."""
        child.proc.kill()
        await asyncio.to_thread(child.proc.wait, 30)

    async def terminate(self, child: Child, timeout: float = 60.0) -> int:
        """SIGTERM and wait for the exit status (a drain answers what it took before exiting)."""
        os.kill(child.proc.pid, signal.SIGTERM)
        try:
            return await asyncio.to_thread(child.proc.wait, timeout)
        except subprocess.TimeoutExpired:
            child.proc.kill()
            await asyncio.to_thread(child.proc.wait, 10)
            raise AssertionError(f"{child.name} did not exit within {timeout:.0f}s of SIGTERM") from None

    # ---- readiness ------------------------------------------------------------------------------

    async def health(self, service: str) -> HealthReply | None:
        try:
            msg = await self.system.nc.request(subjects.op(service, "health"), b"{}", timeout=1.0)
        except Exception:
            return None
        if msg.headers and msg.headers.get("Nats-Service-Error"):
            return None
        return msgspec.json.decode(msg.data, type=HealthReply)

    async def wait_new_instance(self, service: str, timeout: float = READY_TIMEOUT) -> str:
        """Until a replica of ``service`` never seen before answers its health subject (a round trip
        through its endpoints and Redis): the replica just started is serving."""
        seen = self.instances.setdefault(service, set())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = await self.health(service)
            if reply is not None and reply.redis and reply.instance not in seen:
                seen.add(reply.instance)
                return reply.instance
            await asyncio.sleep(0.1 if reply is None else 0.02)
        raise AssertionError(f"no new {service} replica answered within {timeout:.0f}s")

    async def wait_instances(self, service: str, count: int, timeout: float = READY_TIMEOUT) -> None:
        for _ in range(count):
            await self.wait_new_instance(service, timeout)

    async def wait_gateway(self, base: str = "", timeout: float = READY_TIMEOUT) -> None:
        """Until the gateway's ``/readyz`` is 200 (its bus, Redis and every service answer)."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                async with self.system.http.get((base or self.system.base_url) + "/readyz") as resp:
                    if resp.status == 200:
                        return
                    last = f"{resp.status} {await resp.text()}"
            except Exception as exc:  # still starting
                last = repr(exc)
            await asyncio.sleep(0.25)
        raise AssertionError(f"gateway not ready within {timeout:.0f}s: {last}")

    async def replace(self, child: Child, drained: Drained | None = None) -> Child:
        """One step of a rolling restart: SIGTERM ``child``, wait for its clean exit, start its
        successor and wait until it serves. Returns the successor.

        A gateway first leaves the rotation and ``drained`` waits for its requests under way to end (a
        load balancer's connection draining); its successor listens on the same port and rejoins the
        rotation once its ``/readyz`` is 200."""
        name = _name(child)
        if name == "gateway":
            return await self._replace_gateway(child, drained)
        rc = await self.terminate(child)
        assert rc == 0, f"{child.name} exited with status {rc} after SIGTERM"
        fresh = self.spawn(name)
        await self.wait_new_instance(name)
        return fresh

    async def _replace_gateway(self, child: Child, drained: Drained | None) -> Child:
        port = self.ports.pop(child.name)
        base = f"http://127.0.0.1:{port}"
        self.rotation.remove(base)
        if drained is not None:
            await drained(base)
        rc = await self.terminate(child)
        assert rc == 0, f"{child.name} exited with status {rc} after SIGTERM"
        fresh = self.spawn("gateway", port=port)
        await self.wait_gateway(base)
        self.rotation.append(base)
        return fresh

    async def connect(self, user: str) -> NATS:
        """A connection as bus user ``user`` with the services' reconnect options (every URL)."""
        return await connect_nats(load_settings(self.system.servers.env(user)), name=f"test-{user}")

    def unexpected_errors(self) -> str:
        """Every child's ``unexpected error`` / ``unhandled error`` lines with the traceback after them
        (for the failure message of a test that allows only clear 503s)."""
        out = []
        for path in sorted(self.log_dir.glob("*.log")):
            lines = path.read_text(errors="replace").splitlines()
            for i, line in enumerate(lines):
                if "unexpected error" in line or "unhandled error" in line:
                    out.append(f"--- {path.name}:{i + 1}\n" + "\n".join(lines[i : i + 40]))
        return "\n".join(out[:5])

    def logs(self) -> str:
        """The last lines of every child's log (for a failure message)."""
        out = []
        for path in sorted(self.log_dir.glob("*.log")):
            lines = path.read_text(errors="replace").splitlines()[-15:]
            out.append(f"--- {path.name}\n" + "\n".join(lines))
        return "\n".join(out)


def _module(name: str) -> str:
    return f"services.{name}"


def _name(child: Child) -> str:
    return child.module.rsplit(".", 1)[-1]


@contextlib.asynccontextmanager
async def running_fleet(
    replicas: dict[str, int],
    env: dict[str, str] | None = None,
    *,
    nats_cluster: bool = False,
    redis_persist: bool = False,
    gateways: int = 1,
) -> AsyncIterator[Fleet]:
    """Servers, then ``replicas[service]`` processes of each service (1 when absent) and ``gateways``
    gateways (the first on the system's URL, the others on ports of their own, same public URL)."""
    settings_env = {"MAVIO_LOG_LEVEL": "warning", **(env or {})}
    system = await start_system(
        settings_env, services=(), gateway=False, nats_cluster=nats_cluster, redis_persist=redis_persist
    )
    log_dir = Path(system.servers.tmp.name) / "logs"
    child = child_env(
        {
            "MAVIO_NATS_URL": system.servers.nats_url,
            "MAVIO_REDIS_URL": system.servers.redis.url,
            "MAVIO_HTTP_PORT": str(system.settings.http_port),
            "MAVIO_PUBLIC_URL": system.settings.public_url,
            "MAVIO_BUS_TIMEOUT": str(system.settings.bus_timeout),
            **settings_env,
        }
    )
    for name in ("MAVIO_NATS_USER", "MAVIO_NATS_PASSWORD", "MAVIO_REDIS_USER", "MAVIO_REDIS_PASSWORD"):
        child.pop(name, None)  # each child gets its own identity only
    fleet = Fleet(system, Supervisor(child, log_dir=log_dir, identities=system.servers.identities()), log_dir)
    try:
        for service in subjects.SERVICES:
            for _ in range(replicas.get(service, 1)):
                fleet.spawn(service)
        ports = [system.settings.http_port, *(unused_port() for _ in range(gateways - 1))]
        for port in ports:
            fleet.spawn("gateway", port=port)
        for service in subjects.SERVICES:
            await fleet.wait_instances(service, replicas.get(service, 1))
        for port in ports:
            fleet.rotation.append(f"http://127.0.0.1:{port}")
            await fleet.wait_gateway(fleet.rotation[-1])
        yield fleet
    finally:
        await asyncio.to_thread(fleet.sup.stop_all)
        await system.close()
