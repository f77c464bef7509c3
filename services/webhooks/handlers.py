"""The webhooks service: its bus API (``mavio.oauth.v1.webhooks.*``: the delivery log, redeliver, the
test event, the endpoint's state and **Enable**) and its two JetStream pull loops (the audit feed and
the delivery queue), started here and stopped with the service."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from services.webhooks import domain
from services.webhooks.deliver import Deliverer
from services.webhooks.feed import AuditFeed, Queuer
from services.webhooks.metrics import WebhookMetrics
from services.webhooks.pulling import PullLoop
from services.webhooks.sender import Resolve, Sender
from services.webhooks.store import WebhookStore
from shared import subjects
from shared.errors import InvalidRequest, NotFound
from shared.events import AUDIT_PREFIX, AUDIT_STREAM, ensure_audit_stream
from shared.lifecycle import ServiceContext
from shared.messages.webhooks import (
    FAILED,
    DeliveryReply,
    EndpointReply,
    EndpointRequest,
    ListDeliveriesReply,
    ListDeliveriesRequest,
    RedeliverRequest,
    SendTestRequest,
)
from shared.sealing import Sealer
from shared.service import Meta, Route
from shared.tasks import retry_at_start
from shared.webhooks import queue

CONCURRENCY = 256  # deliveries in hand per replica


class WebhookApi:
    def __init__(self, store: WebhookStore, queuer: Queuer, *, clock: Callable[[], float]) -> None:
        self.store = store
        self.queuer = queuer
        self.clock = clock

    async def deliveries(self, req: ListDeliveriesRequest, _: Meta) -> ListDeliveriesReply:
        recent = await self.store.recent(req.client_id)
        endpoint = await self.store.endpoint(req.client_id)
        return ListDeliveriesReply(deliveries=[s.delivery for s in recent], endpoint=endpoint)

    async def redeliver(self, req: RedeliverRequest, _: Meta) -> DeliveryReply:
        stored = await self.store.get(req.client_id, req.id)
        if stored is None:
            raise NotFound("no such delivery")
        if stored.delivery.status != FAILED:
            raise InvalidRequest("only a failed delivery can be redelivered")
        await self._require_url(req.client_id)
        return DeliveryReply(delivery=await self.queuer.queue_again(req.client_id, stored))

    async def send_test(self, req: SendTestRequest, _: Meta) -> DeliveryReply:
        await self._require_url(req.client_id)
        now = self.clock()
        event = domain.test_event(req.client_id, now)
        delivery_id = domain.delivery_id(f"test:{req.client_id}:{time.time_ns()}", 0)
        return DeliveryReply(delivery=await self.queuer.queue_new(req.client_id, delivery_id, event))

    async def enable(self, req: EndpointRequest, _: Meta) -> EndpointReply:
        await self.store.enable(req.client_id)
        return EndpointReply(endpoint=await self.store.endpoint(req.client_id))

    async def endpoint(self, req: EndpointRequest, _: Meta) -> EndpointReply:
        return EndpointReply(endpoint=await self.store.endpoint(req.client_id))

    async def _require_url(self, client_id: str) -> None:
        target = await self.store.target(client_id)
        if target is None or not target.webhook_url:
            raise InvalidRequest("set a webhook URL first")


async def build_routes(
    ctx: ServiceContext, *, clock: Callable[[], float] = time.time, resolve: Resolve | None = None
) -> list[Route[Any]]:
    settings = ctx.settings
    metrics = WebhookMetrics(ctx.metrics.registry)
    store = WebhookStore(ctx.redis)
    writer = await ctx.jetstream_writer()
    queuer = Queuer(store, writer, clock=clock)
    sender = Sender(timeout=settings.webhook_timeout, production=settings.production, resolve=resolve)
    ctx.stack.push_async_callback(sender.close)
    deliverer = Deliverer(
        store,
        sender,
        Sealer(settings.encryption_key),
        metrics,
        writer,
        schedule=settings.webhook_retry_schedule,
        max_in_flight=settings.webhook_max_in_flight,
        clock=clock,
    )
    await _start_loops(ctx, writer, AuditFeed(store, queuer, metrics), deliverer)
    api = WebhookApi(store, queuer, clock=clock)
    return [
        Route("deliveries.list", subjects.WEBHOOKS_DELIVERIES, ListDeliveriesRequest, api.deliveries),
        Route("deliveries.redeliver", subjects.WEBHOOKS_REDELIVER, RedeliverRequest, api.redeliver),
        Route("test.send", subjects.WEBHOOKS_SEND_TEST, SendTestRequest, api.send_test),
        Route("endpoint.enable", subjects.WEBHOOKS_ENABLE, EndpointRequest, api.enable),
        Route("endpoint.get", subjects.WEBHOOKS_ENDPOINT, EndpointRequest, api.endpoint),
    ]


async def _start_loops(ctx: ServiceContext, writer: Any, feed: AuditFeed, deliverer: Deliverer) -> None:
    replicas = ctx.settings.audit_replicas
    js = writer.jetstream()
    # Made if missing (its consumer needs it), never updated: the trail's configuration is its writers'.
    await retry_at_start("audit stream", lambda: ensure_audit_stream(writer, replicas=replicas, update=False))
    await retry_at_start("webhook queue", lambda: queue.ensure_queue(writer, replicas=replicas))
    consumer = queue.queue_consumer(ctx.settings.webhook_timeout, ctx.settings.webhook_max_ack_pending)
    # Created, or given this configuration (``max_ack_pending`` may have changed).
    await retry_at_start("webhook consumer", lambda: js.add_consumer(queue.QUEUE_STREAM, consumer))

    async def subscribe_audit() -> Any:
        return await js.pull_subscribe(
            f"{AUDIT_PREFIX}.>", durable=queue.CONSUMER, stream=AUDIT_STREAM, config=queue.audit_consumer()
        )

    async def subscribe_queue() -> Any:
        return await js.pull_subscribe(
            f"{subjects.WEBHOOK_QUEUE}.>",
            durable=queue.CONSUMER,
            stream=queue.QUEUE_STREAM,
            config=consumer,
        )

    for name, subscribe, handle, concurrency in (
        ("audit", subscribe_audit, feed.handle, 1),
        ("deliveries", subscribe_queue, deliverer.handle, CONCURRENCY),
    ):
        loop = PullLoop(name, handle, concurrency=concurrency)
        loop.start(await retry_at_start(f"webhooks {name} consumer", subscribe))
        ctx.stack.push_async_callback(loop.close)
