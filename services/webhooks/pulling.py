"""A pull loop over one durable JetStream consumer: fetch, hand each message to ``handle`` (a task
each, at most ``concurrency`` at once), back off while the bus is away, stop when asked. A message
not acknowledged by ``handle`` is handed out again after the consumer's ``ack_wait``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import nats.errors
import structlog
from nats.aio.msg import Msg

log = structlog.get_logger("mavio.webhooks.pulling")

IDLE_WAIT = 1.0  # seconds a fetch waits for work
BATCH = 64  # messages one fetch asks for (taken in order, each once a slot is free)


class PullLoop:
    def __init__(self, name: str, handle: Callable[[Msg], Awaitable[None]], *, concurrency: int) -> None:
        self.name = name
        self.handle = handle
        self._slots = asyncio.Semaphore(concurrency)
        self._concurrency = concurrency
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self, sub: Any) -> None:
        self._loop = asyncio.create_task(self._run(sub))

    async def close(self) -> None:
        """Stop fetching; let the messages in hand finish (bounded), then leave the rest to JetStream."""
        self._stopping = True
        if self._loop is not None:
            self._loop.cancel()
            await asyncio.wait({self._loop}, timeout=IDLE_WAIT + 2)
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5.0)
        for task in self._tasks:
            task.cancel()

    async def _run(self, sub: Any) -> None:
        delay = 0.2
        while not self._stopping:
            try:
                msgs = await sub.fetch(BATCH, timeout=IDLE_WAIT)
            except (nats.errors.TimeoutError, TimeoutError):
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the bus is away: try again, a bit later each time
                log.warning("consumer not reachable", consumer=self.name, debug=repr(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.2
            for msg in msgs:
                if self._stopping:
                    break  # not acknowledged: handed out again, to another replica
                await self._slots.acquire()
                task = asyncio.create_task(self._one(msg))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _one(self, msg: Msg) -> None:
        try:
            await self.handle(msg)
        except Exception as exc:  # left unacknowledged: JetStream hands it out again
            log.error("message not handled", consumer=self.name, exc_info=exc)
            with contextlib.suppress(Exception):
                await msg.nak(delay=2.0)
        finally:
            self._slots.release()
