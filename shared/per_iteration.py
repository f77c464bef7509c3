"""What the coalescing reader (``shared.grants.reads``) and the script runner (``shared.script_runner``)
share: everything asked for during one event-loop iteration is sent as one batch when the loop next gets
round to it (or at once, at ``max_batch``)."""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

Item = TypeVar("Item")


class PerIteration(Generic[Item]):
    __slots__ = ("_max_batch", "_pending", "_scheduled", "_tasks")

    def __init__(self, max_batch: int) -> None:
        self._max_batch = max_batch
        self._pending: list[Item] = []
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()

    def _enqueue(self, item: Item) -> None:
        self._pending.append(item)
        if len(self._pending) >= self._max_batch:
            self._flush()
        elif not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        task = asyncio.create_task(self._send(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, batch: list[Item]) -> None:
        raise NotImplementedError
