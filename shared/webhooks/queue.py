"""The webhooks service's durable work: ``MAVIO_WEBHOOKS``, a JetStream work queue of deliveries to make
(``DeliveryJob``) on ``mavio.oauth.v1.webhook-queue.<client_id>``, pulled by the durable consumer
``webhooks``; and its durable consumer ``webhooks`` of the audit stream, which feeds it.

Retries are JetStream redeliveries with a delay (``nak(delay=...)``): a job that failed an attempt
stays in the file-backed (replicated, on a cluster) stream until its next attempt, so the schedule
survives a restart of the service, of a NATS node or of Redis, with no timer of our own. Only the
JetStream writer (bus user ``audit``) publishes to and pulls from both (``shared.bus_auth``).
"""

from __future__ import annotations

import functools

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
        subjects=[f"{subjects.WEBHOOK_QUEUE}.>"],
        storage=api.StorageType.FILE,
        retention=api.RetentionPolicy.WORK_QUEUE,
        discard=api.DiscardPolicy.NEW,  # never drop a delivery to make room
        num_replicas=replicas,
        duplicate_window=600.0,  # a job queued twice (an audit record read again) is stored once
    )


def queue_consumer(attempt_timeout: float) -> api.ConsumerConfig:
    """A job is answered (acknowledged, or handed back with a delay) within one attempt; a replica that
    dies holding one leaves it to another after ``attempt_timeout`` + ``ACK_MARGIN``."""
    return api.ConsumerConfig(
        durable_name=CONSUMER,
        ack_policy=api.AckPolicy.EXPLICIT,
        ack_wait=attempt_timeout + ACK_MARGIN,
        max_deliver=-1,  # the schedule decides when a delivery has failed
        max_ack_pending=10_000,
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
