"""``make run``: the whole system on one machine.

Unless MAVIO_NATS_URL / MAVIO_REDIS_URL are set, starts an embedded nats-server (JetStream on) and
redis-server (AOF on) with data under ``.run/<http port>/``; then every service (replicas from
MAVIO_<SERVICE>_REPLICAS) and the gateway; waits for ``/readyz``; prints the URL; stops everything
cleanly on SIGINT/SIGTERM.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

from services.stack.embedded import ServerProcess, start_nats, start_redis
from services.stack.supervisor import Supervisor, child_env, wait_ready
from shared.config import ConfigError, load_settings

READY_TIMEOUT = 90.0


def main() -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"mavio: configuration error: {exc}", file=sys.stderr)
        return 2
    run_dir = Path(os.environ.get("MAVIO_RUN_DIR", ".run")) / str(settings.http_port)
    servers: list[ServerProcess] = []
    overrides: dict[str, str] = {}
    if "MAVIO_NATS_URL" not in os.environ:
        servers.append(start_nats(run_dir / "nats", log_file=run_dir / "nats.log"))
        overrides["MAVIO_NATS_URL"] = servers[-1].url
    if "MAVIO_REDIS_URL" not in os.environ:
        servers.append(start_redis(run_dir / "redis", log_file=run_dir / "redis.log"))
        overrides["MAVIO_REDIS_URL"] = servers[-1].url
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    sup = Supervisor(child_env(overrides), log_dir=run_dir / "logs")
    try:
        return _serve(settings.public_url, settings.http_port, sup, stop, run_dir)
    finally:
        sup.stop_all()
        for server in reversed(servers):
            server.stop()
        print("mavio: stopped", flush=True)


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
    while not stop.wait(1.0):
        for name in sup.restart_dead():
            print(f"mavio: {name} died; restarted", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
