"""Stopping background tasks without losing a cancellation."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

log = structlog.get_logger("mavio.tasks")


async def cancel_and_wait(task: asyncio.Task[Any], *, timeout: float = 10.0) -> None:
    """Cancel ``task`` and wait until it has finished.

    ``asyncio.wait`` neither raises the task's own CancelledError nor swallows one aimed at the
    caller, unlike ``with suppress(CancelledError): await task``: with that, a caller cancelled
    while it waits (a sweeper pass being stopped while it waits for its lease heartbeat, say)
    would carry on as if nothing had happened.
    A task that has not finished ``timeout`` seconds after its cancellation is left behind with an
    error logged, so stopping a process never hangs on one misbehaving task.
    """
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=timeout)
    if not done:
        log.error("task did not stop after cancellation", task=task.get_name())
        return
    if not task.cancelled():
        task.exception()  # retrieved: a task that failed while stopping has nothing more to say
