"""The local stack's address file: ``<run dir>/<http port>/stack.env``, written by ``make run``.

It is the operator's file: it holds what the operator CLI on this machine needs to reach that stack:
``MAVIO_NATS_URL``, ``MAVIO_REDIS_URL``, the CLI's credentials (``MAVIO_NATS_USER=cli``, its password,
the Redis ACL user) and the launcher's pid (``MAVIO_STACK_PID``). Resource servers get their own file
beside it, ``resource.env`` (``RESOURCE_FILE_NAME``): ``MAVIO_NATS_URL``, ``MAVIO_NATS_USER=resource``
and its ``MAVIO_NATS_PASSWORD``, nothing else. Both mode 0600; shell-sourceable (``KEY='value'`` lines).

Clients (``mavio-oauth`` through ``find``, ``shared.verify_client.bus_options`` through
``find_resource``) read them only when ``MAVIO_NATS_URL`` (or ``MAVIO_REDIS_URL``) is unset. Which one:
``$MAVIO_RUN_DIR`` (default ``.run``,
relative to the working directory), then ``<port>/stack.env`` for ``$MAVIO_HTTP_PORT`` if set, else
the one stack there whose launcher is running. A file whose launcher is gone (stopped, killed) is
refused with a clear ``StackNotRunning``: its servers and credentials died with it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

FILE_NAME = "stack.env"
RESOURCE_FILE_NAME = "resource.env"
PID = "MAVIO_STACK_PID"
URL_VARIABLES = ("MAVIO_NATS_URL", "MAVIO_REDIS_URL")
LAUNCHER_MODULE = b"services.stack"


class StackNotRunning(Exception):
    """A one-line message: no usable local stack where its file was looked for."""


@dataclass(frozen=True)
class StackFile:
    path: Path
    values: dict[str, str]

    @property
    def running(self) -> bool:
        return launcher_alive(int(self.values.get(PID, "0") or 0))

    def client_env(self) -> dict[str, str]:
        """The variables a client takes from the file (everything but the launcher's bookkeeping)."""
        return {k: v for k, v in self.values.items() if k != PID}

    def shown(self) -> str:
        """The path as the user would type it: relative to the working directory when under it."""
        try:
            return str(self.path.resolve().relative_to(Path.cwd().resolve()))
        except ValueError:
            return str(self.path)


def render(values: Mapping[str, str], *, comment: str = "") -> str:
    """A shell-sourceable ``KEY='value'`` file (values are URLs, numbers and base64url: no quotes)."""
    head = f"# {comment}\n" if comment else ""
    return head + "".join(f"{key}='{value}'\n" for key, value in values.items())


def parse(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def read(path: Path) -> StackFile:
    return StackFile(path, parse(path.read_text()))


def launcher_alive(pid: int) -> bool:
    """Whether ``pid`` is a running launcher (not a recycled pid of something else)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        args = cmdline.read_bytes()
    except FileNotFoundError:  # no /proc (not Linux): trust the pid
        return not Path("/proc/self").exists()
    except OSError:
        return True
    return not args or LAUNCHER_MODULE in args  # empty while the process is still being set up


def run_dir(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("MAVIO_RUN_DIR") or ".run")


def find(environ: Mapping[str, str]) -> StackFile | None:
    """The running stack's file; None when no stack file is there at all.

    Raises ``StackNotRunning`` for a file whose launcher is gone, or when several stacks run and
    ``MAVIO_HTTP_PORT`` does not say which.
    """
    base = run_dir(environ)
    port = (environ.get("MAVIO_HTTP_PORT") or "").strip()
    paths = [base / port / FILE_NAME] if port else sorted(base.glob(f"*/{FILE_NAME}"))
    files = [read(p) for p in paths if p.is_file()]
    if not files:
        return None
    running = [f for f in files if f.running]
    if len(running) == 1:
        return running[0]
    if running:
        ports = ", ".join(f.path.parent.name for f in running)
        raise StackNotRunning(f"several local stacks are running (ports {ports}): set MAVIO_HTTP_PORT to one")
    newest = max(files, key=lambda f: f.path.stat().st_mtime)
    raise StackNotRunning(
        f"the local stack of {newest.shown()} is not running (its launcher, pid "
        f"{newest.values.get(PID, '?')}, is gone): start it with `make run`, or set MAVIO_NATS_URL "
        "and MAVIO_REDIS_URL"
    )


def find_resource(environ: Mapping[str, str]) -> StackFile | None:
    """The running stack's ``resource.env`` (found as ``find`` finds its stack); None when no stack
    file is there at all. Raises ``StackNotRunning`` as ``find`` does, or when that stack wrote none."""
    found = find(environ)
    if found is None:
        return None
    path = found.path.parent / RESOURCE_FILE_NAME
    if not path.is_file():
        raise StackNotRunning(
            f"the local stack of {found.shown()} has no {RESOURCE_FILE_NAME} beside it: restart it with "
            "`make run`, or set MAVIO_NATS_URL, MAVIO_NATS_USER and MAVIO_NATS_PASSWORD"
        )
    return read(path)


def client_environ(environ: Mapping[str, str]) -> tuple[dict[str, str], StackFile | None]:
    """``environ`` completed from the running stack's file when it names neither server; else as is."""
    env = dict(environ)
    if any(env.get(name) for name in URL_VARIABLES):
        return env, None
    found = find(env)
    if found is not None:
        env.update(found.client_env())
    return env, found
