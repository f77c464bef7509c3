"""kill -9 one of three token replicas under load: the other two take over at once; requests that
were in flight on the dead one get a clear 503 ``temporarily_unavailable`` (the gateway's bus timeout),
never a 500 or a wrong answer, and no token is lost or issued twice."""

from __future__ import annotations

import pytest

from tests.faults.scenario import CLEAR_503, WORKERS, under_load
from tests.support.fleet import running_fleet

pytestmark = [pytest.mark.fault, pytest.mark.timeout(300)]  # a fleet starting on a loaded machine


async def test_kill_9_one_of_three_token_replicas() -> None:
    async with running_fleet({"token": 3}) as fleet:
        victim = fleet.replicas("token")[0]
        result = await under_load(fleet, "kill -9 one of three token replicas", lambda: fleet.kill(victim))
        report = result.report
        assert set(report.errors) <= CLEAR_503, report.line() + "\n" + fleet.unexpected_errors()
        # At most the requests in flight on the victim: one per worker.
        assert sum(report.errors.values()) <= WORKERS, report.line()
        assert report.recovery < 20, report.line()  # the bus timeout (5 s) and a wide margin
        result.assert_invariants()
        assert len(fleet.replicas("token")) == 2
