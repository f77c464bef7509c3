"""Services' handlers and workers on the real grant store, over a real redis-server of their own.

What these tests once ran against in-memory stand-ins of the stores now runs against the stores the
services use (``RedisGrantStore``, ``RedisPageStore``, ``RevocationStore``, ``GrantStats``), so no test
relies on a store behaviour the grants contract suite (``tests/integration/grants/``) does not hold the
real one to. The folder's Redis is its own (no services run on it), emptied before each test, so a test
sees exactly what it wrote.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.system import System, start_system


@pytest.fixture(scope="package")
async def system() -> AsyncIterator[System]:
    """Real nats-server and redis-server, no service and no gateway."""
    sut = await start_system(services=(), gateway=False)
    yield sut
    await sut.close()


@pytest.fixture
async def redis(system: System) -> Any:
    """The folder's Redis, empty."""
    await system.redis.flushdb()
    return system.redis
