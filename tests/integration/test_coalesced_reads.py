"""The verification hot path's coalesced reads (``shared.grants.reads``) on a real redis-server."""

from __future__ import annotations

import asyncio

from tests.support.system import System


async def test_coalesced_reads_answer_each_key_from_one_mget(system: System) -> None:
    from shared.grants.reads import CoalescingReader

    commands: list[str] = []

    class Spy:
        async def get(self, key: str) -> bytes | None:
            commands.append("GET")
            return await system.redis.get(key)  # type: ignore[no-any-return]

        async def mget(self, names: list[str]) -> list[bytes | None]:
            commands.append(f"MGET {len(names)}")
            return await system.redis.mget(names)  # type: ignore[no-any-return]

    for i in range(50):
        await system.redis.set(f"coalesce:{i}", f"v{i}")
    reader = CoalescingReader(Spy())
    values = await asyncio.gather(*(reader.get(f"coalesce:{i}") for i in [*range(60), 7]))
    assert values == [f"v{i}".encode() if i < 50 else None for i in [*range(60), 7]]
    assert commands == ["MGET 61"]
    assert await reader.get("coalesce:3") == b"v3" and commands[-1] == "GET"


async def test_coalesced_read_failures_reach_every_waiter() -> None:
    from shared.grants.reads import CoalescingReader

    class Down:
        async def mget(self, names: list[str]) -> list[bytes | None]:
            raise ConnectionError("redis is down")

    reader = CoalescingReader(Down())
    results = await asyncio.gather(reader.get("a"), reader.get("b"), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
