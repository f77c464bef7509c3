"""Batch routes: one bus message carrying many requests of one route (``shared.messages.batch``).

``shared.service.batch_route`` declares one beside its item route; ``ServiceRunner.start`` gives it
a ``Fanout`` as its handler. Each item runs through the very same ``ServiceRunner.run`` as a single
request of the item route, concurrently, in its own task: its own request id bound in the log
context, counted in the item route's metrics and ``$SRV.STATS`` (the batch message itself in the
batch route's), and its exception turned into its own error entry by the one mapping
(``ServiceRunner._error_of``). A failing item never fails the batch. The reply waits for every item,
at most the batch's ``wait_ms``: an item not done by then answers ``temporarily_unavailable``, as a
single request the requester stopped waiting for, and (like that one) still finishes, counted and
logged, in the background. Item tasks join the runner's in-flight set: its bound (back-pressure)
counts them, and a drain waits for them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shared.bus import error_envelope
from shared.errors import OAuthError, TemporarilyUnavailable
from shared.messages.batch import BatchItem, BatchOutcome, BatchReply, BatchRequest
from shared.subjects import REQUEST_ID_HEADER

if TYPE_CHECKING:
    from shared.service import Meta, Route, ServiceRunner, _Stats


class Fanout:
    """The handler of one batch route: every item through its item route, concurrently."""

    __slots__ = ("_item", "_keep", "_late", "_runner", "_stats")

    def __init__(
        self,
        runner: ServiceRunner,
        item: Route[Any],
        stats: _Stats,
        keep: Callable[[asyncio.Task[Any]], None],
    ) -> None:
        self._runner = runner
        self._item = item
        self._stats = stats
        self._keep = keep  # the runner's in-flight set: bounded together, and waited for at drain
        self._late = _outcome(TemporarilyUnavailable(f"the {runner.name} service did not answer in time"))

    async def __call__(self, batch: BatchRequest[Any], meta: Meta) -> BatchReply[Any]:
        tasks = [asyncio.create_task(self._one(entry)) for entry in batch.items]
        for task in tasks:
            self._keep(task)
        await asyncio.wait(tasks, timeout=batch.wait_ms / 1000)
        return BatchReply(items=[self._answer(task) for task in tasks])

    async def _one(self, entry: BatchItem[Any]) -> BatchOutcome[Any]:
        headers = {REQUEST_ID_HEADER: entry.request_id}
        result, error = await self._runner.run(
            self._item, self._stats, entry.request_id, headers, payload=entry.request
        )
        return BatchOutcome(reply=result) if error is None else _outcome(error)

    def _answer(self, task: asyncio.Task[BatchOutcome[Any]]) -> BatchOutcome[Any]:
        if task.done() and not task.cancelled():
            return task.result()  # ``run`` answers every exception with an error
        return self._late


def _outcome(error: OAuthError) -> BatchOutcome[Any]:
    return BatchOutcome(error=error_envelope(error), status=error.status)
