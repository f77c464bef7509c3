"""The system as ``make run`` starts it, for the HTTP scenarios: ``python -m services.stack`` in a
temporary ``MAVIO_RUN_DIR`` on a free ``MAVIO_HTTP_PORT``, nothing else changed (its log level, metrics,
the sweeper, every service, authenticated NATS and Redis users), replicas only through the
``MAVIO_<SERVICE>_REPLICAS`` variables a user would set. Ready when ``/readyz`` answers 200 and the
launcher has printed its ``ready at`` line (the demo account exists by then); stopped with SIGTERM,
after which the launcher must print ``mavio: stopped``.

Every process of the stack is found from ``/proc`` (the launcher's descendants, named as the launcher
names them: ``token-1``, ``gateway``, ``nats-server`` ...) so each one's CPU can be measured."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from services.stack.embedded import die_with_parent, free_port

READY_TIMEOUT = 120.0
STOP_TIMEOUT = 60.0
READY_LINE = "mavio: ready at"
STOPPED_LINE = "mavio: stopped"
SUPERVISOR = "supervisor"
# What would point the launcher at another deployment (or at another run's folder and port).
DEPLOYMENT_VARIABLES = frozenset(
    {
        "MAVIO_NATS_URL",
        "MAVIO_REDIS_URL",
        "MAVIO_PUBLIC_URL",
        "MAVIO_HTTP_PORT",
        "MAVIO_RUN_DIR",
        "MAVIO_NATS_USER",
        "MAVIO_NATS_PASSWORD",
        "MAVIO_REDIS_USER",
        "MAVIO_REDIS_PASSWORD",
    }
)


def _ppid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [part.decode(errors="replace") for part in f.read().split(b"\0") if part]
    except OSError:
        return []


def descendants(root: int) -> dict[int, list[str]]:
    """Every live descendant of ``root``: pid -> command line."""
    parents = {int(d): _ppid(int(d)) for d in os.listdir("/proc") if d.isdigit()}
    found: dict[int, list[str]] = {}
    frontier = {root}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier and pid not in found}
        found |= {pid: _cmdline(pid) for pid in frontier}
    return found


def process_name(cmdline: list[str]) -> str:
    """``python -m services.token`` -> ``token``; ``/usr/bin/nats-server -c ...`` -> ``nats-server``."""
    if "-m" in cmdline[:-1]:
        module = cmdline[cmdline.index("-m") + 1]
        return module.removeprefix("services.")
    return Path(cmdline[0].split()[0]).name if cmdline else "?"


def named_processes(supervisor: int, children: dict[int, list[str]]) -> dict[str, int]:
    """Name -> pid for the launcher and its descendants, as the launcher names its children: a kind
    with one process keeps its name (``gateway``), a service is numbered in start (pid) order
    (``token-1``, ``token-2``), as are several gateways (``gateway-1``, ``gateway-2``)."""
    kinds: dict[str, list[int]] = {}
    for pid in sorted(children):
        kinds.setdefault(process_name(children[pid]), []).append(pid)
    named = {SUPERVISOR: supervisor}
    for kind, pids in kinds.items():
        numbered = len(pids) > 1 or kind not in ("gateway", "nats-server", "redis-server")
        named |= {f"{kind}-{i + 1}" if numbered else kind: pid for i, pid in enumerate(pids)}
    return named


def launcher_env(
    environ: dict[str, str], *, run_dir: Path, port: int, replicas: dict[str, int]
) -> dict[str, str]:
    """The user's environment with only what ``make run`` in a fresh folder differs by: the run folder,
    the port, and the replica counts asked for (``MAVIO_<SERVICE>_REPLICAS``)."""
    env = {k: v for k, v in environ.items() if k not in DEPLOYMENT_VARIABLES}
    env |= {"MAVIO_RUN_DIR": str(run_dir), "MAVIO_HTTP_PORT": str(port)}
    return env | {f"MAVIO_{service.upper()}_REPLICAS": str(n) for service, n in replicas.items()}


@dataclass
class ShippedStack:
    """``python -m services.stack`` running; ``pids`` holds every process of it once ready."""

    proc: subprocess.Popen[bytes]
    root: tempfile.TemporaryDirectory[str]
    port: int
    label: str
    pids: dict[str, int] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def output_file(self) -> Path:
        return Path(self.root.name) / "launcher.out"

    def output(self) -> str:
        return self.output_file.read_text(errors="replace")

    @classmethod
    def start(
        cls, label: str, *, replicas: dict[str, int] | None = None, extra: dict[str, str] | None = None
    ) -> ShippedStack:
        """Start the launcher; ``extra``: variables a user would set (only for a labelled breakdown row)."""
        root = tempfile.TemporaryDirectory(prefix="mavio-bench-run-")
        port = free_port()
        env = launcher_env(dict(os.environ), run_dir=Path(root.name), port=port, replicas=replicas or {})
        out = open(Path(root.name) / "launcher.out", "wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.stack"],
            env=env | (extra or {}),
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
        return cls(proc, root, port, label)

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """``/readyz`` answers 200 and the launcher printed its ``ready at`` line; then read the pids."""
        deadline = time.monotonic() + timeout
        while not (self._readyz() and READY_LINE in self.output()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.label}: the stack did not get ready:\n{self.output()[-2000:]}")
            time.sleep(0.25)
        self.pids = named_processes(self.proc.pid, descendants(self.proc.pid))

    def _readyz(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base}/readyz", timeout=2) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False

    def stop(self) -> str:
        """SIGTERM, as a user's ``kill`` would; the launcher must end with ``mavio: stopped``."""
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    raise
            out = self.output()
            if STOPPED_LINE not in out.strip().splitlines()[-1:]:
                raise RuntimeError(
                    f"{self.label}: the launcher did not print {STOPPED_LINE!r}:\n{out[-1000:]}"
                )
            return out
        finally:
            self.root.cleanup()


def start_all(stacks: Iterable[ShippedStack]) -> None:
    """Wait for every stack started (they start side by side)."""
    for stack in stacks:
        stack.wait_ready()
