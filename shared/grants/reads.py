"""Coalesced reads for the verification hot path: every GET issued in one event-loop iteration goes to
Redis as ONE ``MGET`` (``mget_nonatomic`` on a Cluster, which splits by slot).

Each verification still makes exactly one round trip before it replies; under load hundreds share it,
so the client-side cost of a Redis command (the largest CPU cost of a verification in redis-py) is paid
once per batch instead of once per token.
"""

from __future__ import annotations

import asyncio
from typing import Any

from shared.per_iteration import PerIteration
from shared.store import Redis


class CoalescingReader(PerIteration[tuple[str, "asyncio.Future[bytes | None]"]]):
    __slots__ = ("_cluster", "_redis")

    def __init__(self, redis: Redis, *, cluster: bool = False, max_batch: int = 512) -> None:
        super().__init__(max_batch)
        self._redis = redis
        self._cluster = cluster

    def get(self, key: str) -> asyncio.Future[bytes | None]:
        """The value of ``key`` (None if absent), fetched with the other keys asked for in this iteration."""
        future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        self._enqueue((key, future))
        return future

    async def _send(self, batch: list[tuple[str, asyncio.Future[bytes | None]]]) -> None:
        names = [key for key, _ in batch]
        try:
            values: list[Any]
            if len(names) == 1:
                values = [await self._redis.get(names[0])]
            elif self._cluster:
                values = await self._redis.mget_nonatomic(names)
            else:
                values = await self._redis.mget(names)
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), value in zip(batch, values, strict=True):
            if not future.done():
                future.set_result(value)
