"""Revocation's work from the command queue (``shared.commands``): each replica pulls from the durable
consumer ``revocation`` through its JetStream writer, carries a command out, acknowledges it and tells
the waiting sender (its inbox) the outcome. A command that fails (Redis away, the bus away) is handed
out again after ``RETRY_DELAY``, until done; one that can never be carried out (not a command, an
invalid request) is dropped with an error line. The pending count is a gauge
(``mavio_revocation_commands_pending``) and shown by ``mavio-oauth status``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import nats.errors
import structlog
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from prometheus_client import Gauge

from shared import subjects
from shared.bus import encode, error_payload
from shared.commands import (
    COMMAND_STREAM,
    CONSUMER,
    PROGRESS_EVERY,
    RETRY_DELAY,
    consumer_config,
    ensure_command_queue,
    envelope_decoder,
    pending_commands,
)
from shared.errors import OAuthError, TemporarilyUnavailable
from shared.messages.commands import Command, CommandEnvelope
from shared.reply_guard import INBOX
from shared.tasks import retry_at_start

log = structlog.get_logger("mavio.revocation.commands")

Handle = Callable[[Command], Awaitable[Any]]
BATCH = 8
IDLE_WAIT = 1.0  # seconds a pull waits for work before the gauge is refreshed
STOP_TRIES = 3


class CommandWorker:
    def __init__(self, nc: NATS, writer: NATS, handle: Handle, *, pending: Gauge | None = None) -> None:
        self.nc = nc  # answers go to the sender's inbox on revocation's own connection
        self.writer = writer  # pulls and acknowledges (bus user ``audit``)
        self.handle = handle
        self.pending = pending
        self._task: asyncio.Task[None] | None = None
        self._sub: Any = None
        self._stopping = False

    async def start(self, *, replicas: int = 1) -> None:
        await retry_at_start("command queue", lambda: self._subscribe(replicas))
        self._task = asyncio.create_task(self._run(self._sub))

    async def _subscribe(self, replicas: int) -> None:
        await ensure_command_queue(self.writer, replicas=replicas)
        js = self.writer.jetstream()
        self._sub = await js.pull_subscribe(
            f"{subjects.COMMANDS_REVOCATION}.>",
            durable=CONSUMER,
            stream=COMMAND_STREAM,
            config=consumer_config(),
        )

    async def close(self) -> None:
        """Stop pulling. The loop also checks ``_stopping``: on Python 3.11 a cancellation that lands
        while nats-py's ``fetch`` (``asyncio.wait_for``) completes can be swallowed, and the loop would
        go on pulling; a command being carried out stays queued for another replica."""
        self._stopping = True
        if self._task is not None:
            for _ in range(STOP_TRIES):
                self._task.cancel()
                done, _ = await asyncio.wait({self._task}, timeout=IDLE_WAIT + 1)
                if done:
                    break
            else:
                log.warning("command worker did not stop in time; leaving it")
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()

    async def _run(self, sub: Any) -> None:
        delay = 0.2
        while not self._stopping:
            try:
                msgs = await sub.fetch(BATCH, timeout=IDLE_WAIT)
            except (nats.errors.TimeoutError, TimeoutError):
                msgs = []
            except Exception as exc:  # the bus is away: try again, a bit later each time
                log.warning("command queue not reachable", debug=repr(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.2
            for msg in msgs:
                if self._stopping:
                    break  # not acknowledged: it is handed out again, to another replica
                await self._one(msg)
            await self._measure()

    async def _measure(self) -> None:
        if self.pending is not None and (count := await pending_commands(self.writer)) is not None:
            self.pending.set(count)

    async def _one(self, msg: Msg) -> None:
        try:
            envelope = envelope_decoder.decode(msg.data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.error("not a command: dropped", debug=str(exc))
            await msg.term()
            return
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            request_id=envelope.request_id, service=subjects.REVOCATION, op=type(envelope.command).__name__
        )
        try:
            outcome = await self._working(msg, envelope.command)
        except (TemporarilyUnavailable, OSError, nats.errors.Error, TimeoutError) as exc:
            log.warning("command failed; it will be tried again", debug=repr(exc))
            await msg.nak(delay=RETRY_DELAY)
            return
        except OAuthError as exc:  # can never be carried out: tell the sender, do not retry
            log.error("command refused", error=exc.error, debug=exc.description)
            await msg.term()
            await self._answer(envelope, *error_payload(exc))
            return
        except Exception as exc:
            log.error("command failed; it will be tried again", exc_info=exc)
            await msg.nak(delay=RETRY_DELAY)
            return
        await msg.ack()
        await self._answer(envelope, encode(outcome), None)

    async def _working(self, msg: Msg, command: Command) -> Any:
        """Carry the command out, telling JetStream it is in progress while it takes long (so it is not
        handed to another replica meanwhile)."""
        task = asyncio.ensure_future(self.handle(command))
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=PROGRESS_EVERY)
                if done:
                    return task.result()
                with contextlib.suppress(Exception):
                    await msg.in_progress()
        finally:
            task.cancel()  # the service is stopping: the command stays queued, another replica takes it

    async def _answer(self, envelope: CommandEnvelope, body: bytes, headers: dict[str, str] | None) -> None:
        if not envelope.reply_to.startswith(INBOX):  # outcomes go to an inbox, nowhere else
            return
        try:
            await self.nc.publish(envelope.reply_to, body, headers=headers)
        except Exception as exc:  # the sender may be gone; the work is done
            log.warning("command outcome not sent", debug=repr(exc))
