"""Stopping background tasks without losing a cancellation."""

from __future__ import annotations

import asyncio
from typing import Any


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait until it has finished.

    ``asyncio.wait`` neither raises the task's own CancelledError nor swallows one aimed at the
    caller, unlike ``with suppress(CancelledError): await task``: with that, a caller cancelled
    while it waits (a sweeper pass being stopped while it waits for its lease heartbeat, say)
    would carry on as if nothing had happened.
    """
    task.cancel()
    await asyncio.wait([task])
    if not task.cancelled():
        task.exception()  # retrieved: a task that failed while stopping has nothing more to say
