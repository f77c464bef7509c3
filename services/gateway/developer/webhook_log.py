"""An app's webhook deliveries as its page shows them: the **Webhook deliveries** table (the webhooks
service's log, the last 100, newest first: event type, time, status, attempts, last HTTP status or error)
and whether the endpoint is disabled. Read only for an app with a webhook URL; when the webhooks service
does not answer, the page says so and shows everything else."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from aiohttp import web

from services.gateway.keys import BUS
from services.gateway.web_helpers import request_id
from shared.errors import TemporarilyUnavailable
from shared.messages.registry import AppView
from shared.messages.webhooks import FAILED, Delivery
from shared.webhooks.client import WebhooksClient


@dataclass(frozen=True)
class DeliveryRow:
    id: str
    type: str
    when: str  # UTC, for people
    status: str  # delivered | pending | failed
    attempts: int
    last_status: str  # "200", "500", "timeout", ... ("" before the first attempt)
    can_redeliver: bool


def utc_text(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if epoch else ""


def row(delivery: Delivery) -> DeliveryRow:
    return DeliveryRow(
        id=delivery.id,
        type=delivery.type,
        when=utc_text(delivery.created_at),
        status=delivery.status,
        attempts=delivery.attempts,
        last_status=delivery.last_status,
        can_redeliver=delivery.status == FAILED,
    )


@dataclass(frozen=True)
class DeliveryLog:
    """The ``webhooks`` of the app page's template."""

    rows: list[DeliveryRow] = field(default_factory=list)
    enabled: bool = True
    disabled_since: str = ""
    unavailable: bool = False  # the webhooks service did not answer


async def delivery_log(request: web.Request, app: AppView) -> DeliveryLog:
    """The app's delivery log and endpoint state (empty without a webhook URL)."""
    if not app.webhook_url:
        return DeliveryLog()
    try:
        webhooks = WebhooksClient(request.app[BUS])
        reply = await webhooks.deliveries(app.client_id, request_id=request_id(request))
    except TemporarilyUnavailable:
        return DeliveryLog(unavailable=True)
    return DeliveryLog(
        rows=[row(d) for d in reply.deliveries],
        enabled=reply.endpoint.enabled,
        disabled_since=utc_text(reply.endpoint.disabled_at),
    )
