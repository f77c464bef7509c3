"""``make run``: the whole system on one machine.

Unless MAVIO_NATS_URL / MAVIO_REDIS_URL are set, starts an embedded nats-server (JetStream on) and
redis-server (AOF on) with data under ``.run/<http port>/``, both requiring authentication with fresh
random credentials (``credentials``): each process connects as its own bus user, and
``<run dir>/cli.env`` holds the operator CLI's. Then every service (replicas from
MAVIO_<SERVICE>_REPLICAS) and the gateway; waits for ``/readyz``; prints the URL; stops everything
cleanly on SIGINT/SIGTERM.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

from services.stack.credentials import StackCredentials, env_file, write_private
from services.stack.embedded import ServerProcess, start_nats, start_redis
from services.stack.supervisor import Supervisor, child_env, wait_ready
from shared import subjects
from shared.config import ConfigError, load_settings

READY_TIMEOUT = 90.0


def main() -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"mavio: configuration error: {exc}", file=sys.stderr)
        return 2
    run_dir = Path(os.environ.get("MAVIO_RUN_DIR", ".run")) / str(settings.http_port)
    servers, overrides, identities = _embedded_servers(run_dir)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    sup = Supervisor(child_env(overrides), log_dir=run_dir / "logs", identities=identities)
    try:
        return _serve(settings.public_url, settings.http_port, sup, stop, run_dir)
    finally:
        sup.stop_all()
        for server in reversed(servers):
            server.stop()
        print("mavio: stopped", flush=True)


Identities = dict[str, dict[str, str]]


def _embedded_servers(run_dir: Path) -> tuple[list[ServerProcess], dict[str, str], Identities]:
    """The embedded servers that were not given, with their credentials: (servers, env, identities)."""
    creds = StackCredentials.generate()
    servers: list[ServerProcess] = []
    overrides: dict[str, str] = {}
    nats_embedded = "MAVIO_NATS_URL" not in os.environ
    redis_embedded = "MAVIO_REDIS_URL" not in os.environ
    if nats_embedded:
        config = write_private(run_dir / "nats-auth.conf", creds.nats_config())
        servers.append(start_nats(run_dir / "nats", log_file=run_dir / "nats.log", config=config))
        overrides["MAVIO_NATS_URL"] = servers[-1].url
    if redis_embedded:
        acl = write_private(run_dir / "redis.acl", creds.redis_acl())
        servers.append(start_redis(run_dir / "redis", log_file=run_dir / "redis.log", acl_file=acl))
        overrides["MAVIO_REDIS_URL"] = servers[-1].url
    keep = {"MAVIO_NATS_USER", "MAVIO_NATS_PASSWORD"} if nats_embedded else set()
    keep |= {"MAVIO_REDIS_USER", "MAVIO_REDIS_PASSWORD"} if redis_embedded else set()

    def identity(user: str) -> dict[str, str]:
        return {name: value for name, value in creds.env(user).items() if name in keep}

    identities = {user: identity(user) for user in (*subjects.SERVICES, "gateway", "cli")}
    overrides.update(identity("cli"))  # the launcher's own steps (the demo account) are the operator's
    write_private(run_dir / "cli.env", env_file({**overrides, **identities["cli"]}))
    return servers, overrides, identities


def _serve(public_url: str, port: int, sup: Supervisor, stop: threading.Event, run_dir: Path) -> int:
    sup.start_all()
    ready, detail = wait_ready(f"http://127.0.0.1:{port}/readyz", READY_TIMEOUT, sup.children)
    if not ready:
        print(f"mavio: not ready after {READY_TIMEOUT:.0f}s: {detail}", file=sys.stderr)
        print(f"mavio: logs are in {run_dir / 'logs'}", file=sys.stderr)
        return 1
    from services.stack.demo import ensure_demo_account

    ensure_demo_account(sup.env)
    print(f"mavio: ready at {public_url}  (logs in {run_dir / 'logs'}; Ctrl-C stops)", flush=True)
    print(f"mavio: operator CLI credentials: set -a; . {run_dir / 'cli.env'}; set +a", flush=True)
    while not stop.wait(1.0):
        for name in sup.restart_dead():
            print(f"mavio: {name} died; restarted", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
