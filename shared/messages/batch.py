"""Many requests of one kind in one bus message, and their answers in one reply (``…token.exchange_many``).

Each item carries its own request id; the reply holds, item by item in the same order, the single
route's reply or its error envelope with the HTTP status (the envelope and status a single request's
``Nats-Service-Error`` headers would carry). An oversized or malformed batch fails to decode, so the
whole message is ``invalid_request``; one item's failure is only that item's.
"""

from __future__ import annotations

from typing import Annotated, Final, Generic, TypeVar

import msgspec

from shared.bus import ErrorEnvelope

Req = TypeVar("Req")
Rep = TypeVar("Rep")

# The most items one batch message may carry: the gateway sends at most its own limit
# (``services.gateway.token_batch``), which is chosen from measurements and never above this one.
MAX_ITEMS: Final = 128
MAX_WAIT_MS: Final = 120_000  # ``MAVIO_BUS_TIMEOUT``'s own upper bound
RequestId = Annotated[str, msgspec.Meta(max_length=128)]


class BatchItem(msgspec.Struct, Generic[Req], frozen=True, kw_only=True):
    request_id: RequestId  # the gateway's request id of this item (logged with it, as a single request's)
    request: Req


class BatchRequest(msgspec.Struct, Generic[Req], frozen=True, kw_only=True):
    """``items`` (1 to ``MAX_ITEMS``), answered within ``wait_ms``: an item not done by then answers
    ``temporarily_unavailable``, as a single request the requester stopped waiting for."""

    items: Annotated[list[BatchItem[Req]], msgspec.Meta(min_length=1, max_length=MAX_ITEMS)]
    wait_ms: Annotated[int, msgspec.Meta(ge=1, le=MAX_WAIT_MS)]


class BatchOutcome(msgspec.Struct, Generic[Rep], frozen=True, kw_only=True, omit_defaults=True):
    """One item's answer: its ``reply``, or its ``error`` and the HTTP ``status`` of that error."""

    reply: Rep | None = None
    error: ErrorEnvelope | None = None
    status: int = 200


class BatchReply(msgspec.Struct, Generic[Rep], frozen=True, kw_only=True):
    items: list[BatchOutcome[Rep]]  # the request's items, in their order
