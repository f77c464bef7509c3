"""Shared fixtures: a whole system on real nats-server and redis-server processes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared.logging import configure_logging
from tests.support.system import System, start_system

configure_logging(json=False, level="warning", cache=False)  # tests may reconfigure it


@pytest.fixture(scope="session")
async def system() -> AsyncIterator[System]:
    """The default system, shared by tests that do not need special settings."""
    sut = await start_system()
    yield sut
    await sut.close()
