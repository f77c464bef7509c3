"""The webhooks service's durable work: ``MAVIO_WEBHOOKS``, a JetStream work queue of deliveries to make
(``DeliveryJob``) on ``mavio.oauth.v1.webhook-queue.<client_id>``, pulled by the durable consumer
``webhooks``; and its durable consumer ``webhooks`` of the audit stream, which feeds it.

A job waiting for its next attempt (a retry, or a job deferred by its app's in-flight limit) is
acknowledged and stored again as a JetStream message schedule (``wait``: ``Nats-Schedule: @at <due>``
on ``mavio.oauth.v1.webhook-wait.<client_id>.<id>``, the same file-backed, replicated stream), which
the server publishes back to the queue when it is due. Not ``nak(delay=...)``: a nak'd job stays
unacknowledged, counted against the consumer's ``max_ack_pending``, and once that many wait (10,000
retries to one dead endpoint) the consumer hands out nothing more, to any app, for hours. So only the
jobs in hand count, the schedule survives a restart of the service, of a NATS node or of Redis, and
there is no timer of our own. Only the webhooks service's JetStream user (``webhooks_js``) publishes
to and pulls from the queue (``shared.bus_auth``).
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta

import msgspec
import nats.js.errors
from nats.aio.client import Client as NATS
from nats.js import api

from shared import subjects
from shared.errors import TemporarilyUnavailable
from shared.events import AUDIT_PREFIX
from shared.jetstream import publish_acknowledged
from shared.messages.webhooks import DeliveryJob

QUEUE_STREAM = "MAVIO_WEBHOOKS"
CONSUMER = "webhooks"  # the durable name of both consumers (the queue's and the audit stream's)
ACK_MARGIN = 20.0  # seconds past an attempt's timeout before a job held by a silent replica goes to another

_encoder = msgspec.json.Encoder()
job_decoder = msgspec.json.Decoder(DeliveryJob)


def queue_subject(client_id: str) -> str:
    return f"{subjects.WEBHOOK_QUEUE}.{client_id}"


def stream_config(replicas: int = 1) -> api.StreamConfig:
    return api.StreamConfig(
        name=QUEUE_STREAM,
        subjects=[f"{subjects.WEBHOOK_QUEUE}.>", f"{subjects.WEBHOOK_WAIT}.>"],
        storage=api.StorageType.FILE,
        retention=api.RetentionPolicy.WORK_QUEUE,
        # No size or count limit, so no delivery is dropped to make room; the server refuses schedules
        # with ``DiscardPolicy.NEW``.
        discard=api.DiscardPolicy.OLD,
        num_replicas=replicas,
        duplicate_window=600.0,  # a job queued twice (an audit record read again) is stored once
        allow_msg_schedules=True,  # ``wait`` (nats-server 2.12+)
    )


def wait_subject(client_id: str, delivery_id: str) -> str:
    """One schedule per delivery: a new one on this subject replaces the one before."""
    return f"{subjects.WEBHOOK_WAIT}.{client_id}.{delivery_id}"


def queue_consumer(attempt_timeout: float, max_ack_pending: int = 1000) -> api.ConsumerConfig:
    """A job is answered (acknowledged, or acknowledged and scheduled again) within one attempt; a
    replica that dies holding one leaves it to another after ``attempt_timeout`` + ``ACK_MARGIN``.
    ``max_ack_pending`` bounds only the jobs in hand (``wait``)."""
    return api.ConsumerConfig(
        durable_name=CONSUMER,
        ack_policy=api.AckPolicy.EXPLICIT,
        ack_wait=attempt_timeout + ACK_MARGIN,
        max_deliver=-1,  # the schedule decides when a delivery has failed
        max_ack_pending=max_ack_pending,
        filter_subject=f"{subjects.WEBHOOK_QUEUE}.>",
    )


def audit_consumer() -> api.ConsumerConfig:
    """From the audit stream: only records written after the consumer was first made."""
    return api.ConsumerConfig(
        durable_name=CONSUMER,
        ack_policy=api.AckPolicy.EXPLICIT,
        ack_wait=30.0,
        max_deliver=-1,
        deliver_policy=api.DeliverPolicy.NEW,
        filter_subject=f"{AUDIT_PREFIX}.>",
    )


async def ensure_queue(writer: NATS, *, replicas: int = 1, update: bool = True) -> None:
    """Create the queue if missing; with ``update``, give an existing one this configuration."""
    js = writer.jetstream()
    try:
        await js.add_stream(stream_config(replicas))
    except nats.js.errors.BadRequestError:
        if update:
            await js.update_stream(stream_config(replicas))


async def enqueue(writer: NATS, job: DeliveryJob) -> None:
    """Store the job (acknowledged); ``TemporarilyUnavailable`` if JetStream does not take it."""
    ensure = functools.partial(ensure_queue, writer, update=False)  # the service sets replicas
    headers = {"Nats-Msg-Id": f"{job.id}#{job.round}"}
    data = _encoder.encode(job)
    if not await publish_acknowledged(
        writer, queue_subject(job.client_id), data, ensure=ensure, stream=QUEUE_STREAM, headers=headers
    ):
        raise TemporarilyUnavailable("the webhook queue is not reachable")


async def wait(writer: NATS, job: DeliveryJob, delay: float) -> None:
    """Store ``job`` to be queued again in ``delay`` seconds (wall clock: the server's timer is one),
    acknowledged; ``TemporarilyUnavailable`` if JetStream does not take it."""
    due = datetime.now(UTC) + timedelta(seconds=delay)
    headers = {
        "Nats-Schedule": f"@at {due.isoformat(timespec='milliseconds').replace('+00:00', 'Z')}",
        "Nats-Schedule-Target": queue_subject(job.client_id),
    }
    ensure = functools.partial(ensure_queue, writer, update=False)
    subject = wait_subject(job.client_id, job.id)
    if not await publish_acknowledged(
        writer, subject, _encoder.encode(job), ensure=ensure, stream=QUEUE_STREAM, headers=headers
    ):
        raise TemporarilyUnavailable("the webhook queue is not reachable")
