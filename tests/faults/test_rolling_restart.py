"""A rolling restart of every service under verification and refresh load: each service runs two
replicas (token three); one replica at a time gets SIGTERM, drains (answers what it took, then exits
0), and its successor must be serving before the next replica goes. Then the two gateways, one at a
time, as behind a load balancer: out of the rotation, its requests under way finished, SIGTERM, the
successor on the same port back in once ready. Not one request may fail, and no token is lost or
issued twice."""

from __future__ import annotations

import pytest

from shared import subjects
from tests.faults.scenario import under_load
from tests.support.fleet import Drained, Fleet, running_fleet
from tests.support.load import Load

pytestmark = [pytest.mark.fault, pytest.mark.timeout(300)]  # a fleet starting on a loaded machine

REPLICAS = {"authorize": 2, "token": 3, "registry": 2, "revocation": 2, "webhooks": 1}


GATEWAYS = 2


async def roll(fleet: Fleet, drained: Drained) -> list[str]:
    """SIGTERM each replica of each service in turn, waiting for its successor, then each gateway;
    the names replaced."""
    replaced = []
    for service in (*subjects.SERVICES, "gateway"):
        for child in fleet.replicas(service):
            await fleet.replace(child, drained)
            replaced.append(child.name)
    return replaced


async def test_rolling_restart_of_every_service_loses_no_request() -> None:
    async with running_fleet(REPLICAS, gateways=GATEWAYS) as fleet:
        replaced: list[str] = []
        loads: list[Load] = []

        async def fault() -> None:
            replaced.extend(await roll(fleet, loads[0].drained))

        name = "rolling restart of every service and gateway (SIGTERM)"
        result = await under_load(fleet, name, fault, loads=loads)
        report = result.report
        assert len(replaced) == sum(REPLICAS.values()) + GATEWAYS, replaced
        assert report.errors == {}, report.line()
        result.assert_invariants()
        for service, count in {**REPLICAS, "gateway": GATEWAYS}.items():
            assert len(fleet.replicas(service)) == count
