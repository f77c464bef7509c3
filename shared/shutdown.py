"""Stopping quickly and quietly when the bus is gone: bounded steps, one warning line, no traceback.

nats-py's ``nc.drain()`` raises on a connection that is reconnecting, and each of its round trips
(``flush``) waits up to 10 s for a server that died meanwhile: a process stopping after its bus went
away would hang and end in a traceback. Here every step has a deadline, and what cannot be done in
time is given up with one warning.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Iterable
from typing import Any

import structlog
from nats.aio.client import Client as NATS

log = structlog.get_logger("mavio.shutdown")

BUS_STEP_TIMEOUT = 2.0  # seconds for one round trip to the bus while stopping (normally milliseconds)


async def bounded(steps: Iterable[Awaitable[Any]], timeout: float) -> bool:
    """Run ``steps`` concurrently for at most ``timeout`` seconds; True when every one succeeded.

    Steps still running at the deadline are cancelled and awaited (briefly), and every outcome is
    retrieved, so nothing is left to end in an "exception was never retrieved" traceback.
    """
    tasks = [asyncio.ensure_future(step) for step in steps]
    if not tasks:
        return True
    _, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=timeout)
    ok = not pending
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            ok = False
    return ok


async def close_nats(nc: NATS, *, timeout: float = BUS_STEP_TIMEOUT) -> None:
    """Flush what this process published (replies, events) if the bus answers, then close ``nc``.

    Subscriptions that serve requests are drained before this (``ServiceRunner.drain``); the rest
    (discovery, cache invalidation, reply inboxes) have nothing to finish when the process ends.
    """
    if nc.is_closed:
        return
    if not nc.is_connected or not await bounded([nc.flush(max(1, int(timeout)))], timeout + 0.5):
        log.warning("bus unreachable while stopping: closing the connection without a final flush")
    with contextlib.suppress(Exception):
        await asyncio.wait_for(nc.close(), timeout)
