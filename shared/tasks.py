"""Stopping background tasks without losing a cancellation; a start-up step asked again until what it
needs is up."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog

log = structlog.get_logger("mavio.tasks")

R = TypeVar("R")


async def retry_at_start(
    what: str,
    step: Callable[[], Awaitable[R]],
    *,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
    timeout: float = 60.0,
) -> R:
    """Run a start-up ``step``, again after each ``retry_on`` failure (one warning line each, backing off
    from 0.2 to 2 s) until ``timeout``; only then does the process fail to start. For what may come up
    after this process (JetStream electing its leader, a Redis container still starting)."""
    loop = asyncio.get_running_loop()
    deadline, delay = loop.time() + timeout, 0.2
    while True:
        try:
            return await step()
        except retry_on as exc:
            if loop.time() + delay > deadline:
                raise
            log.warning(f"{what} not available yet; retrying", debug=repr(exc))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


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
