"""Coalesced reads for the verification hot path: every GET issued in one event-loop iteration goes to
Redis as ONE ``MGET`` (``mget_nonatomic`` on a Cluster, which splits by slot).

Each verification still makes exactly one round trip before it replies; under load hundreds share it,
so the client-side cost of a Redis command (the largest CPU cost of a verification in redis-py) is paid
once per batch instead of once per token.
"""

from __future__ import annotations

import asyncio
from typing import Any

from shared.store import Redis


class CoalescingReader:
    __slots__ = ("_cluster", "_max_batch", "_pending", "_redis", "_scheduled", "_tasks")

    def __init__(self, redis: Redis, *, cluster: bool = False, max_batch: int = 512) -> None:
        self._redis = redis
        self._cluster = cluster
        self._max_batch = max_batch
        self._pending: list[tuple[str, asyncio.Future[bytes | None]]] = []
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()

    def get(self, key: str) -> asyncio.Future[bytes | None]:
        """The value of ``key`` (None if absent), fetched with the other keys asked for in this iteration."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bytes | None] = loop.create_future()
        self._pending.append((key, future))
        if len(self._pending) >= self._max_batch:
            self._flush()
        elif not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return future

    def _flush(self) -> None:
        self._scheduled = False
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        task = asyncio.create_task(self._fetch(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _fetch(self, batch: list[tuple[str, asyncio.Future[bytes | None]]]) -> None:
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
