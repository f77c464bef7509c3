"""``make run``: the whole system on one machine.

Unless MAVIO_NATS_URL / MAVIO_REDIS_URL are set, starts an embedded nats-server (JetStream on) and
redis-server (AOF on) with data under ``.run/<http port>/``, both requiring authentication with fresh
random credentials (``credentials``): each process connects as its own bus user. Prints the NATS and
Redis URLs and writes them, with the operator CLI's credentials, to ``<run dir>/stack.env`` (the
operator's: ``mavio-oauth`` finds it), and the bus address with the ``resource`` bus user's credentials
to ``<run dir>/resource.env`` (local resource servers': ``shared.verify_client.bus_options`` finds it;
``shared.stack_file``). Everything under ``.run/`` (credentials, Redis's append-only file, logs) is
created for this user only (umask 077: folders 0700, files 0600).
Then every service (replicas from MAVIO_<SERVICE>_REPLICAS) and the gateway; waits for ``/readyz``;
prints the URL. SIGINT/SIGTERM stops everything in order (``stopping``), a second one at once; the
exit status is 0 either way, and ``mavio: stopped`` is the last line.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

from services.stack.credentials import StackCredentials, write_private
from services.stack.embedded import ServerProcess, start_nats, start_redis
from services.stack.stopping import SERVERS_GRACE, Signals, Stage, Stopper, report_killed
from services.stack.supervisor import Supervisor, child_env, wait_ready
from shared import bus_auth, stack_file, subjects
from shared.config import ConfigError, load_settings

READY_TIMEOUT = 90.0
Identities = dict[str, dict[str, str]]


def main() -> int:
    try:
        settings = load_settings()
        bus_auth.all_users(settings.resource_bus_users)
    except ConfigError as exc:
        print(f"mavio: configuration error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"mavio: configuration error: MAVIO_RESOURCE_BUS_USERS: {exc}", file=sys.stderr)
        return 2
    signals = Signals()
    signals.install()
    # Absolute: redis-server changes into its data folder before it reads the ACL file.
    base = Path(os.environ.get("MAVIO_RUN_DIR", ".run")).absolute()
    run_dir = base / str(settings.http_port)
    make_private(base, run_dir)
    servers: list[ServerProcess] = []
    sup: Supervisor | None = None
    code = 1
    try:
        overrides, identities = _embedded_servers(run_dir, servers, settings.resource_bus_users)
        sup = Supervisor(child_env(overrides), log_dir=run_dir / "logs", identities=identities)
        code = _serve(settings.public_url, settings.http_port, sup, signals, run_dir, servers)
    except (RuntimeError, OSError) as exc:  # an embedded server did not start
        print(f"mavio: {exc}", file=sys.stderr, flush=True)
    finally:
        report_killed(Stopper(signals.hurry).run(_stages(sup, servers)), signals.hurry.is_set())
        print("mavio: stopped", flush=True)
    return code


def _stages(sup: Supervisor | None, servers: list[ServerProcess]) -> list[Stage]:
    children = sup.stages() if sup is not None else []
    return [*children, Stage("servers", [(s.name, s.proc) for s in servers], SERVERS_GRACE)]


def make_private(base: Path, run_dir: Path) -> None:
    """From here on, everything this process and its children create is this user's only (umask 077):
    ``base`` when it is new, ``run_dir`` and what an earlier run left in it (the append-only file, logs).
    An existing ``base`` keeps its mode: ``MAVIO_RUN_DIR`` may name a shared folder."""
    os.umask(0o077)
    base.mkdir(parents=True, exist_ok=True)
    run_dir.mkdir(exist_ok=True)
    for folder, _, files in os.walk(run_dir):
        os.chmod(folder, 0o700)
        for name in files:
            path = Path(folder, name)
            if not path.is_symlink():
                path.chmod(path.stat().st_mode & 0o700)


def _embedded_servers(
    run_dir: Path, servers: list[ServerProcess], resource_users: tuple[str, ...]
) -> tuple[dict[str, str], Identities]:
    """Start the embedded servers that were not given (into ``servers``); write the stack file and
    the resource servers' file.

    Returns the services' environment and each process kind's credentials.
    """
    creds = StackCredentials.generate(resource_users=resource_users)
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
    keep = {"MAVIO_NATS_USER", "MAVIO_NATS_PASSWORD", "MAVIO_NATS_AUDIT_PASSWORD"} if nats_embedded else set()
    keep |= {"MAVIO_REDIS_USER", "MAVIO_REDIS_PASSWORD"} if redis_embedded else set()

    def identity(user: str) -> dict[str, str]:
        return {name: value for name, value in creds.env(user).items() if name in keep}

    identities = {user: identity(user) for user in (*subjects.SERVICES, "gateway", "cli")}
    overrides.update(identity("cli"))  # the launcher's own steps (the demo account) are the operator's
    nats_url = os.environ.get("MAVIO_NATS_URL", overrides.get("MAVIO_NATS_URL", ""))
    redis_url = os.environ.get("MAVIO_REDIS_URL", overrides.get("MAVIO_REDIS_URL", ""))
    values = {
        stack_file.PID: str(os.getpid()),
        "MAVIO_NATS_URL": nats_url,
        "MAVIO_REDIS_URL": redis_url,
        **identities["cli"],
    }
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    path = write_private(run_dir / stack_file.FILE_NAME, stack_file.render(values, comment=_comment(started)))
    # With a bus of the operator's own, its resource credentials are the operator's to hand out.
    resource = creds.resource_env(nats_url) if nats_embedded else {"MAVIO_NATS_URL": nats_url}
    resource_path = write_private(run_dir / stack_file.RESOURCE_FILE_NAME, stack_file.render(resource))
    _announce("NATS", nats_url, nats_embedded)
    _announce("Redis", redis_url, redis_embedded)
    print(f"mavio: stack file {path} (the operator's: mavio-oauth reads it)", flush=True)
    print(f"mavio: resource servers' file {resource_path} (shared.verify_client reads it)", flush=True)
    return overrides, identities


def _comment(started: str) -> str:
    return f"the local stack of make run, started {started}: the operator's, read by mavio-oauth"


def _announce(name: str, url: str, embedded: bool) -> None:
    print(f"mavio: {name} {url}{' (embedded)' if embedded else ''}", flush=True)


def _serve(
    public_url: str, port: int, sup: Supervisor, signals: Signals, run_dir: Path, servers: list[ServerProcess]
) -> int:
    if signals.stop.is_set():
        return 0
    sup.start_all()
    ready, detail = wait_ready(f"http://127.0.0.1:{port}/readyz", READY_TIMEOUT, sup.children, signals.stop)
    if signals.stop.is_set():
        return 0
    if not ready:
        print(f"mavio: not ready after {READY_TIMEOUT:.0f}s: {detail}", file=sys.stderr)
        print(f"mavio: logs are in {run_dir / 'logs'}", file=sys.stderr)
        return 1
    from services.stack.demo import ensure_demo_account

    ensure_demo_account(sup.env)
    print(f"mavio: ready at {public_url}  (logs in {run_dir / 'logs'}; Ctrl-C stops)", flush=True)
    gone: set[str] = set()
    while not signals.stop.wait(1.0):
        for name in sup.restart_dead():
            print(f"mavio: {name} died; restarted", file=sys.stderr, flush=True)
        for server in servers:
            if server.proc.poll() is not None and server.name not in gone:
                gone.add(server.name)
                status = server.proc.returncode
                print(f"mavio: embedded {server.name} exited (status {status})", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
