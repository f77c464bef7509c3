"""The webhooks service's bus API (``mavio.oauth.v1.webhooks.*``, ``shared.subjects``) and the job it
queues for itself (``shared.webhooks.queue``). The gateway checks that the signed-in user owns the app
(through the registry) before it asks; these requests carry only the client id."""

from __future__ import annotations

from typing import Literal

import msgspec

Status = Literal["delivered", "pending", "failed"]
# A delivery's status in the log.
DELIVERED: Status = "delivered"
PENDING: Status = "pending"
FAILED: Status = "failed"


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    """One webhook event for one app: its ``id`` is the ``webhook-id`` header, the same on every attempt
    and redelivery. ``last_status``: the last attempt's HTTP status ("500") or error ("timeout")."""

    id: str
    type: str
    status: Status
    attempts: int = 0
    last_status: str = ""
    created_at: int  # epoch seconds
    updated_at: int = 0
    last_response: str = ""  # the start (at most 1 KiB) of the last attempt's response body


class EndpointState(msgspec.Struct, frozen=True, kw_only=True):
    """An app's webhook endpoint: ``enabled``, or disabled since ``disabled_at`` after every delivery
    failed from ``failing_since`` on for 5 days. ``failing_since`` 0: the last attempt succeeded."""

    enabled: bool = True
    disabled_at: int = 0
    failing_since: int = 0


class ListDeliveriesRequest(msgspec.Struct, frozen=True, kw_only=True):
    client_id: str


class ListDeliveriesReply(msgspec.Struct, frozen=True, kw_only=True):
    deliveries: list[Delivery]  # newest first, at most 100
    endpoint: EndpointState


class RedeliverRequest(msgspec.Struct, frozen=True, kw_only=True):
    client_id: str
    id: str


class SendTestRequest(msgspec.Struct, frozen=True, kw_only=True):
    client_id: str


class DeliveryReply(msgspec.Struct, frozen=True, kw_only=True):
    """The delivery queued (redelivered, or the test event), status ``pending``."""

    delivery: Delivery


class EndpointRequest(msgspec.Struct, frozen=True, kw_only=True):
    client_id: str


class EndpointReply(msgspec.Struct, frozen=True, kw_only=True):
    endpoint: EndpointState


class DeliveryJob(msgspec.Struct, frozen=True, kw_only=True):
    """What the webhooks service queues for itself: deliver ``body`` (the JSON payload, the same on every
    attempt) as delivery ``id`` of ``client_id``; ``round`` counts redeliveries (each restarts the
    schedule); ``attempts`` the attempts made so far (counted here too: a job whose record left the
    log still ends). Never a secret: the signing secret is read from the app record at each attempt."""

    client_id: str
    id: str
    type: str
    body: str
    round: int = 0
    attempts: int = 0
