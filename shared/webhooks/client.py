"""Asking the webhooks service (``mavio.oauth.v1.webhooks.*``) for an app's delivery log, a redelivery,
the test event, the endpoint's state and **Enable**. The caller (the gateway's JSON API and app page)
has checked that the signed-in user owns the app (through the registry) first."""

from __future__ import annotations

from shared import subjects
from shared.bus import Bus
from shared.messages.webhooks import (
    DeliveryReply,
    EndpointReply,
    EndpointRequest,
    ListDeliveriesReply,
    ListDeliveriesRequest,
    RedeliverRequest,
    SendTestRequest,
)


class WebhooksClient:
    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    async def deliveries(self, client_id: str, *, request_id: str = "") -> ListDeliveriesReply:
        req = ListDeliveriesRequest(client_id=client_id)
        return await self.bus.request(
            subjects.WEBHOOKS_DELIVERIES, req, ListDeliveriesReply, request_id=request_id
        )

    async def redeliver(self, client_id: str, delivery_id: str, *, request_id: str = "") -> DeliveryReply:
        req = RedeliverRequest(client_id=client_id, id=delivery_id)
        return await self.bus.request(subjects.WEBHOOKS_REDELIVER, req, DeliveryReply, request_id=request_id)

    async def send_test(self, client_id: str, *, request_id: str = "") -> DeliveryReply:
        req = SendTestRequest(client_id=client_id)
        return await self.bus.request(subjects.WEBHOOKS_SEND_TEST, req, DeliveryReply, request_id=request_id)

    async def enable(self, client_id: str, *, request_id: str = "") -> EndpointReply:
        req = EndpointRequest(client_id=client_id)
        return await self.bus.request(subjects.WEBHOOKS_ENABLE, req, EndpointReply, request_id=request_id)

    async def endpoint(self, client_id: str, *, request_id: str = "") -> EndpointReply:
        req = EndpointRequest(client_id=client_id)
        return await self.bus.request(subjects.WEBHOOKS_ENDPOINT, req, EndpointReply, request_id=request_id)
