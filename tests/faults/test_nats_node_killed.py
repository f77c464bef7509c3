"""kill -9 one NATS node of three under load: every process connected to it (services, the gateway,
the resource server, the harness) reconnects to the other two by itself; requests in flight through
the dead node get a clear 503 ``temporarily_unavailable``; failures stop within the reconnect window;
the audit stream (three replicas) stays writable; no token is lost or issued twice."""

from __future__ import annotations

import asyncio
import time

import pytest

from shared.events import AUDIT_STREAM
from tests.faults.scenario import CLEAR_503, under_load
from tests.support.fleet import Fleet, running_fleet

pytestmark = pytest.mark.fault


def _mavio_clients(fleet: Fleet, nodes: list[int]) -> list[str]:
    cluster = fleet.system.servers.nats_cluster
    assert cluster is not None
    return sorted(n for i in nodes for n in cluster.client_names(i) if n.startswith("mavio-"))


async def test_kill_9_one_nats_node_of_three() -> None:
    env = {"MAVIO_AUDIT_REPLICAS": "3"}
    async with running_fleet({"token": 2}, env, nats_cluster=True) as fleet:
        cluster = fleet.system.servers.nats_cluster
        assert cluster is not None
        everyone = _mavio_clients(fleet, [0, 1, 2])
        # The victim: the node with the most of our processes on it, so their failover is what we see.
        victim = max(range(3), key=lambda i: len(_mavio_clients(fleet, [i])))
        on_victim = _mavio_clients(fleet, [victim])
        assert on_victim, "no process on the victim node"
        survivors = [i for i in range(3) if i != victim]

        async def fault() -> None:
            await asyncio.to_thread(cluster.nodes[victim].kill)

        result = await under_load(
            fleet, f"kill -9 one NATS node of three ({len(on_victim)} clients on it)", fault
        )
        report = result.report
        assert set(report.errors) <= CLEAR_503, report.line()
        assert report.recovery < 30, report.line()  # reconnect (0.25 s waits) + a bus timeout + margin
        result.assert_invariants()

        deadline = time.monotonic() + 30
        while _mavio_clients(fleet, survivors) != everyone:
            assert time.monotonic() < deadline, (everyone, _mavio_clients(fleet, survivors))
            await asyncio.sleep(0.2)
        info = await fleet.system.nc.jetstream().stream_info(AUDIT_STREAM)
        assert info.config.num_replicas == 3 and info.cluster is not None and info.cluster.leader
