"""The grant store's contract suites run against every Redis deployment the product supports
(Hydra's ``manager_test_helpers.go`` habit): every test in this folder runs
once on the single Redis of the session's system and once on a real three-node Redis Cluster."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.system import System, start_system


@pytest.fixture(scope="module", params=["single-redis", "redis-cluster"])
async def system(request: pytest.FixtureRequest, system: System) -> AsyncIterator[System]:
    if request.param == "single-redis":
        yield system
        return
    sut = await start_system(redis_cluster=True, services=(), gateway=False)
    yield sut
    await sut.close()
