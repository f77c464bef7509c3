"""From the audit stream to the delivery queue: the durable consumer ``webhooks`` of ``MAVIO_AUDIT``
reads each record once (explicit acknowledgement, after its deliveries are logged and queued), maps it
to webhook events (``domain.webhook_events``) for an app with a webhook URL, and queues one delivery
each. A record read twice (a crash before its acknowledgement) makes the same delivery ids: logged
once, queued once."""

from __future__ import annotations

import time
from collections.abc import Callable

import msgspec
import structlog
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from services.webhooks import domain
from services.webhooks.metrics import WebhookMetrics
from services.webhooks.store import StoredDelivery, WebhookStore
from shared.errors import TemporarilyUnavailable
from shared.events import decode_event
from shared.messages.events import AppDeleted
from shared.messages.webhooks import FAILED, PENDING, Delivery, DeliveryJob
from shared.webhooks.queue import enqueue

log = structlog.get_logger("mavio.webhooks.feed")


class Queuer:
    """Logs a delivery and queues its job (the feed, the test event and redeliveries all use it)."""

    def __init__(self, store: WebhookStore, writer: NATS, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.writer = writer
        self.clock = clock

    async def queue_new(self, client_id: str, delivery_id: str, event: domain.WebhookEvent) -> Delivery:
        body = domain.payload(event)
        delivery = Delivery(id=delivery_id, type=event.type, status=PENDING, created_at=int(self.clock()))
        stored = StoredDelivery(delivery=delivery, body=body)
        await self.store.add(client_id, stored)
        await self._enqueue(client_id, stored)
        return delivery

    async def queue_again(self, client_id: str, stored: StoredDelivery) -> Delivery:
        """A redelivery: the same id and body, a new round of the schedule."""
        delivery = msgspec.structs.replace(stored.delivery, status=PENDING, updated_at=int(self.clock()))
        again = StoredDelivery(
            delivery=delivery, body=stored.body, round=stored.round + 1, round_start=delivery.attempts
        )
        await self.store.update(client_id, again)
        await self._enqueue(client_id, again)
        return delivery

    async def _enqueue(self, client_id: str, stored: StoredDelivery) -> None:
        """Queue the delivery's job; when JetStream does not take it, the log says *failed* (so it can be
        redelivered) and ``TemporarilyUnavailable`` goes to the caller (the feed tries again)."""
        d = stored.delivery
        job = DeliveryJob(client_id=client_id, id=d.id, type=d.type, body=stored.body, round=stored.round)
        try:
            await enqueue(self.writer, job)
        except TemporarilyUnavailable:
            failed = msgspec.structs.replace(d, status=FAILED, last_status="not queued: the bus is away")
            await self.store.update(client_id, msgspec.structs.replace(stored, delivery=failed))
            raise


class AuditFeed:
    def __init__(self, store: WebhookStore, queuer: Queuer, metrics: WebhookMetrics) -> None:
        self.store = store
        self.queuer = queuer
        self.metrics = metrics

    async def handle(self, msg: Msg) -> None:
        try:
            event = decode_event(msg.data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            await msg.ack()  # not an event (the audit reader skips it too)
            return
        if isinstance(event, AppDeleted):  # no webhook: its log and endpoint state go with the app
            await self.store.forget(event.client_id)
        hooks = domain.webhook_events(event)
        if hooks:
            target = await self.store.target(event.client_id)
            if target is not None and target.webhook_url:
                source = f"audit:{msg.metadata.sequence.stream}"
                for index, hook in enumerate(hooks):
                    await self.queuer.queue_new(event.client_id, domain.delivery_id(source, index), hook)
                    self.metrics.events.labels(type=hook.type).inc()
                log.info("webhook events queued", client_id=event.client_id, events=len(hooks))
        await msg.ack()
