"""kill -9 one NATS node of three under load: every process connected to it (services, the gateway,
the resource server, the harness) reconnects to the other two by itself; requests in flight through
the dead node get a clear 503 ``temporarily_unavailable``; failures stop within the reconnect window;
the audit stream (three replicas) stays writable; no token is lost or issued twice."""

from __future__ import annotations

import asyncio
import time

import nats.errors
import pytest

from shared.events import AUDIT_STREAM, read_audit
from tests.faults.scenario import CLEAR_503, WORKERS, under_load
from tests.support.fleet import Fleet, running_fleet
from tests.support.polling import eventually
from tests.support.token_flow import new_party, token_request, tokens_for

pytestmark = [pytest.mark.fault, pytest.mark.timeout(300)]  # a fleet starting on a loaded machine


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
        # The victim: the gateway's node, so refreshes are in flight through it when it dies.
        victim = next(i for i in range(3) if "mavio-gateway" in _mavio_clients(fleet, [i]))
        on_victim = _mavio_clients(fleet, [victim])
        survivors = [i for i in range(3) if i != victim]

        async def fault() -> None:
            await asyncio.to_thread(cluster.nodes[victim].kill)

        result = await under_load(
            fleet, f"kill -9 one NATS node of three (with {', '.join(on_victim)})", fault
        )
        report = result.report
        assert set(report.errors) <= CLEAR_503, report.line() + "\n" + fleet.unexpected_errors()
        # In flight through the dead node, plus quick "no responders" while replicas reconnect.
        assert sum(report.errors.values()) <= 10 * WORKERS, report.line()
        assert report.recovery < 30, report.line()  # reconnect (0.25 s waits) + a bus timeout + margin
        result.assert_invariants()

        deadline = time.monotonic() + 30
        while _mavio_clients(fleet, survivors) != everyone:
            assert time.monotonic() < deadline, (everyone, _mavio_clients(fleet, survivors))
            await asyncio.sleep(0.2)
        await _audit_stream_led(fleet)
        await _revocation_is_audited(fleet)


async def _revocation_is_audited(fleet: Fleet) -> None:
    """An RFC 7009 revocation after the loss lands in the audit trail (written with a node down)."""
    system = fleet.system
    party = await new_party(system)
    pair = await tokens_for(system, party)
    form = {"token": pair["refresh_token"], **party.post_auth()}
    assert (await token_request(system, form, path="/oauth/revoke"))[0] == 200

    async def kinds() -> list[str]:
        try:
            return [type(event).__name__ async for _, event in read_audit(system.nc, party.client_id)]
        except nats.errors.TimeoutError:  # the consumer's create can time out while the meta leader is
            return []  # re-elected (the stream's leader, awaited above, is a different election)

    await eventually(kinds, lambda found: "TokensRevoked" in found, timeout=30)


async def _audit_stream_led(fleet: Fleet, timeout: float = 30.0) -> None:
    """Until the audit stream has a leader again (an election follows the loss of its old one)."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            info = await fleet.system.nc.jetstream().stream_info(AUDIT_STREAM)
            if info.config.num_replicas == 3 and info.cluster is not None and info.cluster.leader:
                return
            last = repr(info.cluster)
        except Exception as exc:  # no leader yet: the request may time out
            last = repr(exc)
        await asyncio.sleep(0.2)
    raise AssertionError(f"the audit stream has no leader: {last}")
