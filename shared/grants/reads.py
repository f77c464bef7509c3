"""Coalesced reads for the verification hot path: every GET issued in one event-loop iteration goes to
Redis as ONE ``MGET`` (``mget_nonatomic`` on a Cluster, which splits by slot).

Each verification still makes exactly one round trip before it replies; under load hundreds share it,
so the client-side cost of a Redis command (the largest CPU cost of a verification in redis-py) is paid
once per batch instead of once per token. ``get_many`` asks for a whole list at once (a
``token.verify_many`` message): its keys always travel in the same read, with whatever else this
iteration asked for.
"""

from __future__ import annotations

import asyncio
from typing import Any

from shared.per_iteration import PerIteration
from shared.store import Redis

# One item of a batch: a key and its value's future, or a list of keys and the future of their values.
_Item = tuple[str, "asyncio.Future[Any]"] | tuple[list[str], "asyncio.Future[Any]"]


class CoalescingReader(PerIteration[_Item]):
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

    def get_many(self, keys: list[str]) -> asyncio.Future[list[bytes | None]]:
        """The values of ``keys`` in their order, all in one read (shared with this iteration's others)."""
        future: asyncio.Future[list[bytes | None]] = asyncio.get_running_loop().create_future()
        self._enqueue((keys, future))
        return future

    async def _send(self, batch: list[_Item]) -> None:
        names: list[str] = []
        for key, _ in batch:
            if isinstance(key, str):
                names.append(key)
            else:
                names.extend(key)
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
        at = 0
        for key, future in batch:
            n = 1 if isinstance(key, str) else len(key)
            if not future.done():
                future.set_result(values[at] if isinstance(key, str) else values[at : at + n])
            at += n
