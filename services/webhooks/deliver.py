"""Carrying out one queued delivery (``DeliveryJob``): the endpoint's state, a slot of the app's
in-flight limit, one signed attempt, then the log updated and the job acknowledged: delivered, failed,
or stored to come back after the schedule's next delay (``shared.webhooks.queue.wait``: a waiting job
is never an unacknowledged one, so no number of them can stop the consumer handing out other apps' jobs).

``clock`` is injected (epoch seconds): the 5-day disabling is tested without waiting for it. The
``webhook-timestamp`` is always the wall clock: receivers check it against theirs."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import msgspec
import structlog
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from services.webhooks import domain
from services.webhooks.metrics import WebhookMetrics
from services.webhooks.sender import Outcome, Sender, signature_header
from services.webhooks.store import StoredDelivery, WebhookStore, WebhookTarget
from shared.messages.webhooks import DELIVERED, FAILED, PENDING, Delivery, DeliveryJob, Status
from shared.sealing import Sealer, SealError
from shared.webhooks.queue import job_decoder, wait

log = structlog.get_logger("mavio.webhooks.deliver")

DEFER = 1.0  # seconds before a job of an app at its in-flight limit is offered again


class Deliverer:
    def __init__(
        self,
        store: WebhookStore,
        sender: Sender,
        sealer: Sealer,
        metrics: WebhookMetrics,
        writer: NATS,
        *,
        schedule: tuple[float, ...],
        max_in_flight: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.sender = sender
        self.sealer = sealer
        self.metrics = metrics
        self.writer = writer
        self.schedule = schedule
        self.max_in_flight = max_in_flight
        self.clock = clock

    async def handle(self, msg: Msg) -> None:
        try:
            job = job_decoder.decode(msg.data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.error("not a delivery job: dropped", debug=str(exc))
            await msg.term()
            return
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(service="webhooks", client_id=job.client_id, webhook_id=job.id)
        stored = await self.store.get(job.client_id, job.id)
        if stored is not None and stored.round > job.round:
            await msg.ack()  # an older round of a delivery redelivered since
            return
        stored = stored or _unlogged(job, self.clock())
        await self._deliver(msg, job, stored)

    async def _deliver(self, msg: Msg, job: DeliveryJob, stored: StoredDelivery) -> None:
        target = await self.store.target(job.client_id)
        if target is None or not target.webhook_url:
            await self._finish(msg, job, stored, FAILED, "no webhook URL")
            return
        if not (await self.store.endpoint(job.client_id)).enabled:
            await self._finish(msg, job, stored, FAILED, "endpoint disabled", counted_as="disabled")
            return
        attempt = uuid.uuid4().hex
        hold_ms = int((self.sender.timeout + 30) * 1000)
        now_ms = int(self.clock() * 1000)
        if not await self.store.take_slot(
            job.client_id, attempt, now_ms=now_ms, hold_ms=hold_ms, limit=self.max_in_flight
        ):
            self.metrics.attempts.labels(outcome="deferred").inc()
            await self._later(msg, job, stored, DEFER)
            return
        try:
            outcome = await self._attempt(job, target)
        finally:
            await self.store.release_slot(job.client_id, attempt)
        await self._after(msg, job, stored, outcome)

    async def _attempt(self, job: DeliveryJob, target: WebhookTarget) -> Outcome:
        secrets = self._secrets(target)
        if not secrets:
            return Outcome(False, "no signing secret")
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": job.id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(secrets, job.id, timestamp, job.body),
            "user-agent": "Mavio-Webhooks/1",
        }
        started = time.perf_counter()
        outcome = await self.sender.send(target.webhook_url, headers, job.body)
        self.metrics.latency.observe(time.perf_counter() - started)
        self.metrics.attempt(outcome.ok, outcome.status)
        log.info("webhook attempt", ok=outcome.ok, status=outcome.status)
        return outcome

    def _secrets(self, target: WebhookTarget) -> list[str]:
        """The signing secret (one: a regenerated secret replaces its predecessor at once)."""
        if not target.webhook_secret:
            return []
        try:
            return [self.sealer.open(target.webhook_secret, purpose=f"webhook:{target.client_id}").decode()]
        except SealError:
            log.error("webhook secret does not open (key-encryption key changed?)")
            return []

    async def _after(self, msg: Msg, job: DeliveryJob, stored: StoredDelivery, outcome: Outcome) -> None:
        now, status = self.clock(), outcome.status
        stored = _counted(stored, outcome, now)
        if outcome.ok:
            await self.store.attempt_succeeded(job.client_id)
            await self._finish(msg, job, stored, DELIVERED, status)
            return
        failing_since = await self.store.attempt_failed(job.client_id, int(now))
        if domain.should_disable(failing_since, now):
            await self.store.disable(job.client_id, int(now))
            log.warning("webhook endpoint disabled: every delivery failed for 5 days")
        delay = domain.retry_delay(self.schedule, stored.delivery.attempts - stored.round_start)
        if delay is None:
            await self._finish(msg, job, stored, FAILED, status)
            return
        await self.store.update(job.client_id, stored)
        await self._later(msg, job, stored, delay)

    async def _later(self, msg: Msg, job: DeliveryJob, stored: StoredDelivery, delay: float) -> None:
        """Acknowledged, and back in the queue after ``delay``: stored first, so a crash in between
        makes an extra attempt (same ``webhook-id``), never a lost one."""
        await wait(self.writer, msgspec.structs.replace(job, attempts=stored.delivery.attempts), delay)
        await msg.ack()

    async def _finish(
        self,
        msg: Msg,
        job: DeliveryJob,
        stored: StoredDelivery,
        status: Status,
        last: str,
        *,
        counted_as: str = "",
    ) -> None:
        delivery = msgspec.structs.replace(
            stored.delivery, status=status, last_status=last, updated_at=int(self.clock())
        )
        await self.store.update(job.client_id, msgspec.structs.replace(stored, delivery=delivery))
        await msg.ack()
        self.metrics.finished.labels(status=counted_as or status).inc()


def _counted(stored: StoredDelivery, outcome: Outcome, now: float) -> StoredDelivery:
    delivery = msgspec.structs.replace(
        stored.delivery,
        attempts=stored.delivery.attempts + 1,
        last_status=outcome.status,
        last_response=outcome.body,
        updated_at=int(now),
        status=PENDING,
    )
    return msgspec.structs.replace(stored, delivery=delivery)


def _unlogged(job: DeliveryJob, now: float) -> StoredDelivery:
    """A job whose record left the log (100 newer deliveries): delivered all the same, its attempts
    counted in the job."""
    delivery = Delivery(id=job.id, type=job.type, status=PENDING, attempts=job.attempts, created_at=int(now))
    return StoredDelivery(delivery=delivery, body=job.body, round=job.round)
