"""Starts and stops the service processes (with replicas) and the gateway as child processes."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from services.stack.embedded import die_with_parent
from services.stack.stopping import GATEWAY_GRACE, SERVICES_GRACE, Stage, Stopper
from shared import subjects
from shared.config import replicas

GATEWAY = "services.gateway"


@dataclass
class Child:
    name: str
    module: str
    proc: subprocess.Popen[bytes]
    restarts: int = 0


@dataclass
class Supervisor:
    env: dict[str, str]
    log_dir: Path | None = None
    children: list[Child] = field(default_factory=list)
    # Per process kind ("registry", "gateway", ...): its own credentials, added to ``env``.
    identities: dict[str, dict[str, str]] = field(default_factory=dict)

    def spawn(self, name: str, module: str) -> Child:
        out: int | object = subprocess.DEVNULL
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = open(self.log_dir / f"{name}.log", "ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", module],
            env={**self.env, **self.identities.get(module.rsplit(".", 1)[-1], {})},
            stdout=out,  # type: ignore[arg-type]
            stderr=out,  # type: ignore[arg-type]
            preexec_fn=die_with_parent,
            start_new_session=True,  # a terminal's Ctrl-C reaches the launcher only: it stops us in order
        )
        child = Child(name, module, proc)
        self.children.append(child)
        return child

    def start_all(self) -> None:
        for service in subjects.SERVICES:
            for i in range(replicas(self.env, service)):
                self.spawn(f"{service}-{i + 1}", f"services.{service}")
        gateways = replicas(self.env, "gateway")  # more than one share the port (SO_REUSEPORT)
        for i in range(gateways):
            self.spawn("gateway" if gateways == 1 else f"gateway-{i + 1}", GATEWAY)

    def restart_dead(self) -> list[str]:
        """Restart children that died on their own; returns their names."""
        dead = []
        for child in self.children:
            if child.proc.poll() is not None:
                dead.append(f"{child.name} (exit {child.proc.returncode})")
                child.proc = self.spawn(child.name, child.module).proc
                self.children.pop()
                child.restarts += 1
        return dead

    def stages(self) -> list[Stage]:
        """The children in the launcher's stop order: the gateway first, then the services."""
        gateway = [(c.name, c.proc) for c in self.children if c.module == GATEWAY]
        services = [(c.name, c.proc) for c in self.children if c.module != GATEWAY]
        return [Stage("gateway", gateway, GATEWAY_GRACE), Stage("services", services, SERVICES_GRACE)]

    def stop_all(self) -> list[str]:
        """Stop the children as the launcher does (``stopping``): the gateway, then the services, each
        stage SIGTERMed and waited for before the next; returns the names of those that had to be killed."""
        return Stopper(threading.Event()).run(self.stages())


def wait_ready(
    url: str, timeout: float, alive: list[Child] | None = None, stop: threading.Event | None = None
) -> tuple[bool, str]:
    """Poll ``url`` until it answers 200; gives up early when a child exits with status 2 (bad config)
    or ``stop`` is set."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline and not (stop is not None and stop.is_set()):
        for child in alive or []:
            if child.proc.poll() == 2:
                return False, f"{child.name} exited: configuration error"
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return True, "ok"
        except Exception as exc:  # still starting
            body = getattr(exc, "read", lambda: b"")()
            last = body.decode(errors="replace") or repr(exc)
        time.sleep(0.25)
    return False, last


def child_env(overrides: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(overrides)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
