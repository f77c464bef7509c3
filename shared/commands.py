"""Revocation's command queue: ``MAVIO_COMMANDS``, a JetStream stream with work-queue retention on
``mavio.oauth.v1.commands.revocation.>``, consumed by the durable pull consumer ``revocation``.

A command (``shared.messages.commands``) is stored, acknowledged, before its sender waits for the
outcome; revocation acknowledges it only once done, so a deletion or a downgrade is carried out even
when revocation is away at that moment (it is redelivered, and retried after a failure, until done).
Only the JetStream writer (bus user ``audit``) may publish to or pull from the queue; no one may
subscribe to it, so no observer of events can take the work. The sender learns the outcome on its
own inbox (``reply_to``) when revocation answers within its wait; otherwise the command is pending.
"""

from __future__ import annotations

import functools
from typing import TypeVar

import msgspec
import nats.errors
import nats.js.errors
import structlog
from nats.aio.client import Client as NATS
from nats.js import api

from shared import subjects
from shared.bus import raise_if_error
from shared.errors import TemporarilyUnavailable
from shared.jetstream import publish_acknowledged
from shared.messages.commands import Command, CommandEnvelope, NarrowToPlan, RevokeApp

log = structlog.get_logger("mavio.commands")
R = TypeVar("R")

COMMAND_STREAM = "MAVIO_COMMANDS"
CONSUMER = "revocation"
ACK_WAIT = 30.0  # seconds without news from the replica working on a command before it is handed out again
PROGRESS_EVERY = 10.0  # seconds between a busy replica's "still working" (long cascades)
RETRY_DELAY = 2.0  # seconds before a failed command is tried again
_SUBJECT_OF: dict[type[Command], str] = {
    RevokeApp: subjects.COMMAND_REVOKE_APP,
    NarrowToPlan: subjects.COMMAND_NARROW_TO_PLAN,
}
_encoder = msgspec.json.Encoder()
envelope_decoder = msgspec.json.Decoder(CommandEnvelope)


def stream_config(replicas: int = 1) -> api.StreamConfig:
    return api.StreamConfig(
        name=COMMAND_STREAM,
        subjects=[f"{subjects.COMMANDS_REVOCATION}.>"],
        storage=api.StorageType.FILE,
        retention=api.RetentionPolicy.WORK_QUEUE,
        discard=api.DiscardPolicy.NEW,  # never drop a command to make room
        num_replicas=replicas,
    )


def consumer_config() -> api.ConsumerConfig:
    return api.ConsumerConfig(
        durable_name=CONSUMER,
        ack_policy=api.AckPolicy.EXPLICIT,
        ack_wait=ACK_WAIT,
        max_deliver=-1,  # until done
        filter_subject=f"{subjects.COMMANDS_REVOCATION}.>",
    )


async def ensure_command_queue(writer: NATS, *, replicas: int = 1) -> None:
    """Create the stream if missing (idempotent), else give it this configuration."""
    js = writer.jetstream()
    try:
        await js.add_stream(stream_config(replicas))
    except nats.js.errors.BadRequestError:
        await js.update_stream(stream_config(replicas))


async def pending_commands(nc: NATS) -> int | None:
    """Commands stored and not yet done (None when the queue does not exist or JetStream is away)."""
    try:
        info = await nc.jetstream().stream_info(COMMAND_STREAM)
    except (nats.js.errors.NotFoundError, nats.errors.Error, TimeoutError):
        return None
    return int(info.state.messages)


async def enqueue(writer: NATS, envelope: CommandEnvelope) -> None:
    """Store the command (acknowledged by JetStream, a few tries); ``TemporarilyUnavailable`` if not."""
    data = _encoder.encode(envelope)
    subject = _SUBJECT_OF[type(envelope.command)]
    ensure = functools.partial(ensure_command_queue, writer)
    if not await publish_acknowledged(writer, subject, data, ensure=ensure, stream=COMMAND_STREAM):
        log.error("command not stored", kind=type(envelope.command).__name__)
        raise TemporarilyUnavailable("the command queue is not reachable")


class CommandSender:
    """Queues a command and waits, up to ``timeout``, for revocation to say it is done.

    ``nc`` is the sender's own connection (the outcome comes to its inbox), ``writer`` its JetStream
    writer. ``send`` answers the outcome, or None when revocation did not answer in time: the command
    is then pending and will be carried out when revocation is back."""

    def __init__(self, nc: NATS, writer: NATS, *, timeout: float) -> None:
        self.nc = nc
        self.writer = writer
        self.timeout = timeout

    async def send(self, command: Command, reply_type: type[R], *, request_id: str = "") -> R | None:
        inbox = self.nc.new_inbox()
        sub = await self.nc.subscribe(inbox, max_msgs=1)
        try:
            await self.nc.flush()
            await enqueue(
                self.writer, CommandEnvelope(command=command, reply_to=inbox, request_id=request_id)
            )
            try:
                msg = await sub.next_msg(timeout=self.timeout)
            except (nats.errors.TimeoutError, TimeoutError):
                log.warning("command pending: revocation did not answer in time", kind=type(command).__name__)
                return None
        finally:
            await _unsubscribe(sub)
        raise_if_error(msg.data, msg.headers)
        return msgspec.json.decode(msg.data, type=reply_type)


async def _unsubscribe(sub: object) -> None:
    try:
        await sub.unsubscribe()  # type: ignore[attr-defined]
    except nats.errors.Error:  # already gone with its one message
        pass
