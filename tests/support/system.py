"""A whole Mavio OAuth system for tests: real nats-server and redis-server processes (fresh per
system, on free ports), every service and the gateway running in this test process's event loop
(or as child processes, for lifecycle tests), and clients to poke at it.

The servers require authentication as in production: each service connects as its own bus user
(``shared.bus_auth``) and as the services' Redis ACL user; the tests' own clients use ``HARNESS``, a
user with every right on both, which exists only here."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import nats
from aiohttp import web
from nats.aio.client import Client as NATS

from services.gateway.app import create_app
from services.gateway.server import GatewayRunner
from services.stack.credentials import StackCredentials, write_private
from services.stack.embedded import ServerProcess, start_nats, start_redis
from shared import subjects
from shared.bus import Bus
from shared.bus_auth import DEFAULT_RESOURCE_USERS, connect_options
from shared.config import Settings, load_settings
from shared.store import make_redis
from tests.support.nats_cluster import NatsCluster, start_nats_cluster, wait_jetstream

ServeFn = Callable[[Settings, asyncio.Event], Awaitable[None]]
HARNESS = "harness"


def service_serve(name: str) -> ServeFn:
    module = __import__(f"services.{name}.__main__", fromlist=["serve"])
    return module.serve  # type: ignore[no-any-return]


HANDED_OUT_PORTS: set[int] = set()


def reserved_port() -> socket.socket:
    """A socket bound to a port never handed out before in this test session, held until the gateway
    listens on it: a port only looked up and bound seconds later can meanwhile become the local port
    of one of the services' outgoing connections (the same ephemeral range), and the bind fails."""
    rejected = []
    try:
        while True:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
            if port not in HANDED_OUT_PORTS and port + 10000 not in HANDED_OUT_PORTS:
                HANDED_OUT_PORTS.add(port)
                return sock
            rejected.append(sock)  # held, so the next bind gets another port
    finally:
        for sock in rejected:
            sock.close()


def unused_port() -> int:
    """A free port never handed out before in this test session. A client left behind by an earlier
    system (they reconnect by themselves) can then never reach a later system's servers. Free now;
    whatever binds it later races the machine's other sockets (``reserved_port`` holds it instead)."""
    with reserved_port() as sock:
        return int(sock.getsockname()[1])


@dataclass
class Servers:
    nats: ServerProcess  # with a NATS cluster: its first node
    redis: ServerProcess  # with a cluster: its first node (the seed URL)
    tmp: tempfile.TemporaryDirectory[str]
    credentials: StackCredentials
    cluster: list[ServerProcess] = field(default_factory=list)
    nats_cluster: NatsCluster | None = None
    redis_persist: bool = False

    @classmethod
    def start(
        cls,
        *,
        redis_cluster: bool = False,
        nats_cluster: bool = False,
        redis_persist: bool = False,
        resource_users: tuple[str, ...] = DEFAULT_RESOURCE_USERS,
    ) -> Servers:
        """``nats_cluster``: three routed nats-server nodes with JetStream (``tests.support.nats_cluster``);
        ``redis_persist``: Redis with its append-only file on (``restart_redis`` keeps the data);
        ``resource_users``: the bus users of resource servers (``MAVIO_RESOURCE_BUS_USERS``)."""
        tmp = tempfile.TemporaryDirectory(prefix="mavio-test-")
        root = Path(tmp.name)
        creds = StackCredentials.generate(admin=HARNESS, resource_users=resource_users)
        acl = write_private(root / "redis.acl", creds.redis_acl())
        write_private(root / "nats-auth.conf", creds.nats_config())
        bus = None
        if nats_cluster:
            ports = [unused_port() for _ in range(9)]
            bus = start_nats_cluster(root / "nats-cluster", creds.nats_config(), ports)
            nats = bus.nodes[0]
        else:
            nats = cls.start_nats_at(root)
        if redis_cluster:
            from tests.support.cluster import start_cluster

            nodes = start_cluster(root / "redis-cluster", acl_file=acl, admin=creds.admins)
            return cls(nats, nodes[0], tmp, creds, nodes, bus)
        redis = start_redis(root / "redis", persist=redis_persist, port=unused_port(), acl_file=acl)
        return cls(nats, redis, tmp, creds, nats_cluster=bus, redis_persist=redis_persist)

    @staticmethod
    def start_nats_at(root: Path, port: int | None = None) -> ServerProcess:
        """nats-server with the system's users (again on ``port``, after a kill)."""
        return start_nats(root / "nats", port=port or unused_port(), config=root / "nats-auth.conf")

    @property
    def nats_url(self) -> str:
        """``MAVIO_NATS_URL``: the server, or every node of the cluster, comma-separated."""
        return self.nats_cluster.url if self.nats_cluster else self.nats.url

    def restart_redis(self, *, kill: bool = False) -> ServerProcess:
        """Stop the single Redis (SIGTERM: it finishes its append-only file; ``kill``: SIGKILL) and
        start it again on the same port with the same data folder and ACL file."""
        if kill:
            self.redis.kill()
        else:
            self.redis.stop()
        root = Path(self.tmp.name)
        self.redis = start_redis(
            root / "redis", persist=self.redis_persist, port=self.redis.port, acl_file=root / "redis.acl"
        )
        return self.redis

    async def wait_bus(self) -> None:
        """With a NATS cluster: until its routes are up and JetStream has a leader (no-op otherwise)."""
        if self.nats_cluster is not None:
            user, password = HARNESS, self.credentials.admins[HARNESS]
            await wait_jetstream(self.nats_cluster.urls, user=user, password=password)

    def env(self, user: str = HARNESS) -> dict[str, str]:
        """``MAVIO_*`` variables to reach these servers as bus user ``user``."""
        return {
            "MAVIO_NATS_URL": self.nats_url,
            "MAVIO_REDIS_URL": self.redis.url,
            "MAVIO_BUS_ADMIN_USERS": HARNESS,  # the services answer the harness's inbox too
            **self.credentials.env(user),
        }

    def identities(self) -> dict[str, dict[str, str]]:
        """Each service's (and the gateway's) own credentials, for ``Supervisor``."""
        admins = {"MAVIO_BUS_ADMIN_USERS": HARNESS}  # the services answer the harness's inbox too
        return {user: {**self.credentials.env(user), **admins} for user in (*subjects.SERVICES, "gateway")}

    async def connect(self, user: str = HARNESS) -> NATS:
        return await nats.connect(
            servers=self.nats_url.split(","), **connect_options(load_settings(self.env(user)))
        )

    def redis_auth(self) -> dict[str, str]:
        return {"username": HARNESS, "password": self.credentials.admins[HARNESS]}

    def stop(self) -> None:
        for bus in self.nats_cluster.nodes if self.nats_cluster else [self.nats]:
            bus.stop()
        for node in self.cluster or [self.redis]:
            node.stop()
        self.tmp.cleanup()


@dataclass
class System:
    """Services in-process; ``base_url`` is the gateway's address."""

    settings: Settings
    servers: Servers
    nc: NATS
    redis: Any
    bus: Bus
    http: aiohttp.ClientSession
    base_url: str
    _stops: dict[str, list[tuple[asyncio.Event, asyncio.Task[None]]]] = field(default_factory=dict)
    _runner: web.AppRunner | None = None

    def settings_of(self, user: str) -> Settings:
        """The settings of a process that connects as bus user ``user`` (a service, the gateway)."""
        return msgspec.structs.replace(self.settings, **_credentials(self.servers.credentials.env(user)))

    async def start_service(self, name: str) -> tuple[asyncio.Event, asyncio.Task[None]]:
        stop = asyncio.Event()
        task = asyncio.create_task(service_serve(name)(self.settings_of(name), stop))
        self._stops.setdefault(name, []).append((stop, task))
        await self.wait_service(name)
        return stop, task

    async def stop_service(self, name: str) -> None:
        for stop, task in self._stops.pop(name, []):
            stop.set()
            await asyncio.wait_for(task, 30)

    async def wait_service(self, name: str, timeout: float = 15.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                await self.nc.request(subjects.op(name, "health"), b"{}", timeout=0.5)
                return
            except Exception:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.05)

    def url(self, path: str) -> str:
        return self.base_url + path

    async def close(self) -> None:
        for name in list(self._stops):
            await self.stop_service(name)
        if self._runner is not None:
            await self._runner.cleanup()
        await self.http.close()
        await self.nc.drain()
        await self.redis.aclose()
        self.servers.stop()


async def start_system(
    env: dict[str, str] | None = None,
    *,
    services: tuple[str, ...] = subjects.SERVICES,
    gateway: bool = True,
    redis_cluster: bool = False,
    nats_cluster: bool = False,
    redis_persist: bool = False,
) -> System:
    servers = Servers.start(
        redis_cluster=redis_cluster,
        nats_cluster=nats_cluster,
        redis_persist=redis_persist,
        resource_users=load_settings(env or {}).resource_bus_users,
    )
    await servers.wait_bus()
    listener = reserved_port()
    port = int(listener.getsockname()[1])
    base = {
        **servers.env(HARNESS),
        "MAVIO_HTTP_PORT": str(port),
        "MAVIO_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "MAVIO_LOG_LEVEL": "warning",
        "MAVIO_BUS_TIMEOUT": "5",
        "MAVIO_REDIS_CLUSTER": "true" if redis_cluster else "false",
    }
    base.update(env or {})
    settings = load_settings(base)
    nc = await servers.connect()
    system = System(
        settings=settings,
        servers=servers,
        nc=nc,
        redis=make_redis(settings),
        bus=Bus(nc, timeout=5),
        http=aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)),
        base_url=settings.public_url,
    )
    try:
        for name in services:
            await system.start_service(name)
        if gateway:
            runner = GatewayRunner(create_app(system.settings_of("gateway")), access_log=None)
            await runner.setup()
            await web.SockSite(runner, listener).start()
            system._runner = runner
    finally:
        if system._runner is None:  # no gateway (or it did not start): nothing listens on it
            listener.close()
    return system


@contextlib.asynccontextmanager
async def running_system(env: dict[str, str] | None = None, **kw: Any) -> Any:
    system = await start_system(env, **kw)
    try:
        yield system
    finally:
        await system.close()


def _credentials(env: dict[str, str]) -> dict[str, str]:
    names = {
        "MAVIO_NATS_USER": "nats_user",
        "MAVIO_NATS_PASSWORD": "nats_password",
        "MAVIO_REDIS_USER": "redis_user",
        "MAVIO_REDIS_PASSWORD": "redis_password",
    }
    found = {field: env[var] for var, field in names.items()}
    found["nats_audit_password"] = env.get("MAVIO_NATS_AUDIT_PASSWORD", "")  # token, registry, revocation
    return found


DEPLOYMENTS = ("single-redis", "redis-cluster")  # every Redis deployment the product supports


@contextlib.asynccontextmanager
async def on_deployment(kind: str, system: System) -> AsyncIterator[System]:
    """``system`` itself for ``single-redis``; for ``redis-cluster``, a system of its own on a real
    three-node Redis Cluster (no services, no gateway: for store-level suites), closed afterwards."""
    if kind == "single-redis":
        yield system
        return
    sut = await start_system(redis_cluster=True, services=(), gateway=False)
    try:
        yield sut
    finally:
        await sut.close()
