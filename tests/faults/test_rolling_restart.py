"""A rolling restart of every service under verification and refresh load: each service runs two
replicas (token three); one replica at a time gets SIGTERM, drains (answers what it took, then exits
0), and its successor must be serving before the next replica goes. Not one request may fail, and no
token is lost or issued twice."""

from __future__ import annotations

import pytest

from shared import subjects
from tests.faults.scenario import under_load
from tests.support.fleet import Fleet, running_fleet

pytestmark = pytest.mark.fault

REPLICAS = {"authorize": 2, "token": 3, "registry": 2, "revocation": 2}


async def roll(fleet: Fleet) -> list[str]:
    """SIGTERM each replica of each service in turn, waiting for its successor; the names replaced."""
    replaced = []
    for service in subjects.SERVICES:
        for child in fleet.replicas(service):
            await fleet.replace(child)
            replaced.append(child.name)
    return replaced


async def test_rolling_restart_of_every_service_loses_no_request() -> None:
    async with running_fleet(REPLICAS) as fleet:
        replaced: list[str] = []

        async def fault() -> None:
            replaced.extend(await roll(fleet))

        result = await under_load(fleet, "rolling restart of every service (SIGTERM)", fault)
        report = result.report
        assert len(replaced) == sum(REPLICAS.values()), replaced
        assert report.errors == {}, report.line()
        result.assert_invariants()
        for service, count in REPLICAS.items():
            assert len(fleet.replicas(service)) == count
