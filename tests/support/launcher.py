"""The real launcher (``python -m services.stack``, what ``make run`` runs) as a child of a test.

It runs in a session of its own, as under a terminal: ``os.killpg(launcher.pid, SIGINT)`` is what a
Ctrl-C does. Its output is collected line by line by a thread; its children are read from ``/proc``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.shipped import DEPLOYMENT_VARIABLES  # what would point the launcher at another deployment
from tests.support.system import unused_port

READY_TIMEOUT = 90.0
EXIT_TIMEOUT = 60.0


def clean_environ(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DEPLOYMENT_VARIABLES}
    return {**env, **extra}


@dataclass
class Launcher:
    proc: subprocess.Popen[str]
    run_root: Path  # MAVIO_RUN_DIR
    port: int
    output: list[str] = field(default_factory=list)
    children: dict[int, str] = field(default_factory=dict)  # pid -> command line, read once ready
    _reader: threading.Thread | None = None

    @classmethod
    def start(cls, run_root: Path, *, cwd: Path | None = None, **extra: str) -> Launcher:
        """``cwd``: start there with MAVIO_RUN_DIR unset, as ``make run`` from a fresh checkout does
        (``run_root`` is then ``cwd / ".run"``)."""
        port = unused_port()
        where = {} if cwd is not None else {"MAVIO_RUN_DIR": str(run_root)}
        env = clean_environ(MAVIO_HTTP_PORT=str(port), **where, **extra)
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.stack"],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        launcher = cls(proc, run_root, port)
        launcher._reader = threading.Thread(target=launcher._read, daemon=True)
        launcher._reader.start()
        launcher.wait_line("mavio: ready at", READY_TIMEOUT)
        launcher.children = launcher._read_children()
        return launcher

    @property
    def folder(self) -> Path:
        return self.run_root / str(self.port)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line.rstrip("\n"))

    def wait_line(self, needle: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.output):
                if needle in line:
                    return line
            if self.proc.poll() is not None and self._reader is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"no line with {needle!r} in the launcher's output:\n" + "\n".join(self.output))

    def _read_children(self) -> dict[int, str]:
        """Every process whose parent is the launcher (from ``/proc``): pid -> command line."""
        children = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
                if ppid == self.proc.pid:
                    args = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
                    children[int(stat.parent.name)] = args
            except (OSError, IndexError, ValueError):  # gone meanwhile
                continue
        return children

    def child(self, needle: str) -> int:
        pids = [pid for pid, args in self.children.items() if needle in args]
        assert len(pids) == 1, (needle, self.children)
        return pids[0]

    def wait_exit(self) -> int:
        rc = self.proc.wait(EXIT_TIMEOUT)
        if self._reader is not None:
            self._reader.join(EXIT_TIMEOUT)
        return rc

    def kill(self) -> None:
        """Teardown after a failed test: nothing of the launcher's is left running."""
        for pid in [self.proc.pid, *self.children]:
            if alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.wait(EXIT_TIMEOUT)

    def logs(self) -> dict[Path, str]:
        return {path: path.read_text(errors="replace") for path in sorted(self.folder.rglob("*.log"))}


def alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie waiting for its parent does not count)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def pending_signals(pid: int) -> int:
    """The process's pending signal mask (``ShdPnd`` | ``SigPnd`` in ``/proc/<pid>/status``)."""
    mask = 0
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(("ShdPnd:", "SigPnd:")):
                mask |= int(line.split()[1], 16)
    return mask
