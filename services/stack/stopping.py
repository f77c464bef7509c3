"""Stopping the local stack: the gateway, then the services, then the embedded servers.

The launcher's children run in sessions of their own, so a terminal's Ctrl-C reaches the launcher
alone and the order is its choice: the gateway first (it stops listening and finishes the HTTP
requests in flight, which still have every service to talk to), then the services (each drains its
bus subscriptions: nothing delivered is lost), then NATS and Redis, which every drain needed alive.
A second SIGINT or SIGTERM while stopping kills whatever is left at once.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import FrameType

# Seconds each stage may take before what is left of it is killed (a normal stop takes well under one).
GATEWAY_GRACE = 10.0
SERVICES_GRACE = 20.0  # ServiceRunner.drain finishes in-flight requests for up to 20 s
SERVERS_GRACE = 5.0
POLL = 0.02


class Signals:
    """SIGINT / SIGTERM handlers: the first signal asks for a stop, any later one for an immediate one."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.hurry = threading.Event()

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, _signum: int, _frame: FrameType | None) -> None:
        if self.stop.is_set():
            self.hurry.set()
        self.stop.set()


@dataclass(frozen=True)
class Stage:
    name: str
    procs: Sequence[tuple[str, subprocess.Popen[bytes]]]  # (name, process)
    grace: float


@dataclass
class Stopper:
    hurry: threading.Event
    killed: list[str] = field(default_factory=list)

    def run(self, stages: Sequence[Stage]) -> list[str]:
        """Stop every stage in order; returns the names of the processes that had to be killed."""
        for stage in stages:
            self._stop(stage)
        return self.killed

    def _stop(self, stage: Stage) -> None:
        for _, proc in stage.procs:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + stage.grace
        while any(p.poll() is None for _, p in stage.procs):
            if self.hurry.is_set() or time.monotonic() >= deadline:
                break
            self.hurry.wait(POLL)
        for name, proc in stage.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
                self.killed.append(name)


def report_killed(killed: list[str], hurried: bool) -> None:
    if not killed:
        return
    why = "stopped at once (second signal)" if hurried else "did not stop in time"
    print(f"mavio: {why}: killed {', '.join(killed)}", file=sys.stderr, flush=True)
