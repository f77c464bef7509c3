"""The compose stack on a real container engine (podman), driven through ``scripts/containers/``:
build (cached), up on free loopback ports under a project name of its own, readiness, scaling, the
operator CLI in a container, and a teardown that removes containers, replicas and volumes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import nats

from services.stack.embedded import free_port
from shared import bus_auth, subjects

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts" / "containers"
READY_TIMEOUT = 300.0  # seconds: first start of 13 containers on a loaded 2-core machine


def dotenv(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


@dataclass
class ComposeStack:
    project: str
    env: dict[str, str]  # podman-compose's environment: engine settings, ports, public URL
    gateway_port: int
    nats_port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def secrets(self) -> dict[str, str]:
        return dotenv(ROOT / ".containers" / "stack.env")

    def script(self, name: str, *args: str, stdin: str | None = None, timeout: float = 300) -> str:
        """Run ``scripts/containers/<name>``; its output, or a failure with the whole output."""
        done = subprocess.run(
            ["bash", str(SCRIPTS / name), *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, (
            f"{name} {' '.join(args)}: exit {done.returncode}\n{done.stdout}{done.stderr}"
        )
        return done.stdout

    def compose(self, *args: str, stdin: str | None = None, timeout: float = 300) -> str:
        return self.script("compose.sh", *args, stdin=stdin, timeout=timeout)

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """``mavio-oauth`` in a one-off container of the ``cli`` service (bus user ``cli``)."""
        out = self.compose("--profile", "tools", "run", "--rm", "-T", "cli", *args, stdin=stdin)
        return out

    def exec(self, container: str, *command: str) -> str:
        """``command`` in a running container (with its environment): its output; fails on exit != 0."""
        done = subprocess.run(
            ["podman", "exec", container, *command],
            env=self.env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"{container} {command}: exit {done.returncode}\n{done.stderr}"
        return done.stdout

    def scale(self, service: str, replicas: int) -> None:
        self.script("scale.sh", service, str(replicas))

    def containers(self, service: str) -> list[str]:
        """The running containers of ``service`` ("": of every service)."""
        filters = ["--filter", f"label=io.podman.compose.project={self.project}"]
        if service:
            filters += ["--filter", f"label=io.podman.compose.service={service}"]
        out = subprocess.run(
            ["podman", "ps", *filters, "--format", "{{.Names}}"],
            env=self.env, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        return sorted(out.split())

    def all_containers(self) -> list[str]:
        return self.containers("")

    def inspect(self, container: str, template: str) -> str:
        done = subprocess.run(
            ["podman", "inspect", "--format", template, container],
            env=self.env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        return done.stdout.strip()

    def logs(self, container: str) -> str:
        done = subprocess.run(
            ["podman", "logs", container], env=self.env, capture_output=True, text=True, check=True
        )
        return done.stdout + done.stderr

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> dict[str, Any]:
        """Poll ``/readyz`` until it answers 200; fail with its last answer (and the logs) otherwise."""
        deadline, last = time.monotonic() + timeout, "no answer"
        while time.monotonic() < deadline:
            try:
                resp = httpx.get(f"{self.url}/readyz", timeout=5)
                if resp.status_code == 200:
                    body: dict[str, Any] = resp.json()
                    return body
                last = resp.text
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(1.0)
        logs = self.compose("logs", "--tail", "20", timeout=120)
        raise AssertionError(f"not ready after {timeout:.0f}s: {last}\n{logs[-6000:]}")

    def health_instances(self, service: str, requests: int) -> set[str]:
        """The replicas of ``service`` that answered ``requests`` health requests on the bus (queue
        group: each request goes to one replica at random), asked as that service's own bus user,
        as its readiness probe does."""
        return asyncio.run(self._health_instances(service, requests))

    async def _health_instances(self, service: str, requests: int) -> set[str]:
        password = self.secrets[f"MAVIO_NATS_{service.upper()}_PASSWORD"]
        nc = await nats.connect(
            f"nats://127.0.0.1:{self.nats_port}",
            user=service,
            password=password,
            inbox_prefix=bus_auth.inbox_prefix(service),
            allow_reconnect=False,
            connect_timeout=5,
        )
        seen: set[str] = set()
        try:
            for _ in range(requests):
                msg = await nc.request(subjects.op(service, "health"), b"{}", timeout=5)
                reply = json.loads(msg.data)
                assert reply["redis"] is True, reply
                seen.add(reply["instance"])
        finally:
            await nc.close()
        return seen

    def wait_replicas(self, service: str, replicas: int, timeout: float = 120.0) -> set[str]:
        """Poll until exactly ``replicas`` distinct replicas answer (stopped ones no longer do)."""
        deadline = time.monotonic() + timeout
        while True:
            # 12 requests per replica and 12 more: a live replica is missed by a round with
            # probability below e^-12, and a round that misses one only means another round.
            seen = self.health_instances(service, 12 * replicas + 12)
            if len(seen) == replicas or time.monotonic() > deadline:
                assert len(seen) == replicas, (service, replicas, seen)
                return seen
            time.sleep(1.0)


@contextmanager
def compose_stack(project: str = "mavio-test") -> Iterator[ComposeStack]:
    """Build what is missing, bring the stack up on free ports, and always tear it all down."""
    gateway_port, nats_port = free_port(), free_port()
    env = {
        **os.environ,
        "MAVIO_COMPOSE_PROJECT": project,
        "MAVIO_GATEWAY_PORT": str(gateway_port),
        "MAVIO_NATS_PORT": str(nats_port),
        "MAVIO_PUBLIC_URL": f"http://127.0.0.1:{gateway_port}",
    }
    stack = ComposeStack(project, env, gateway_port, nats_port)
    stack.script("prepare.sh", timeout=1800)
    stack.script("down.sh")  # leftovers of a killed run
    try:
        stack.compose("up", "-d", timeout=600)
        yield stack
    finally:
        stack.script("down.sh")
