"""The grant store's contract suites run against every Redis deployment the product supports
(Hydra's ``manager_test_helpers.go`` habit): every test in this folder runs
once on the single Redis of the session's system and once on a real three-node Redis Cluster."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.system import DEPLOYMENTS, System, on_deployment


@pytest.fixture(scope="module", params=DEPLOYMENTS)
async def system(request: pytest.FixtureRequest, system: System) -> AsyncIterator[System]:
    async with on_deployment(request.param, system) as sut:
        yield sut
