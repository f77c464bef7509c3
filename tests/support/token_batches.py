"""Watching the token-endpoint requests on the bus: a plain subscription (beside the token service's
queue group) to ``token.exchange`` and ``token.exchange_many``, and to every replica's own
``token.exchange_many.<id>`` (``services.gateway.replicas``), gets a copy of every message."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import msgspec
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from shared import subjects
from shared.messages.token import ExchangeTokensRequest


class ExchangeWatch:
    def __init__(self) -> None:
        self.batches: list[ExchangeTokensRequest] = []
        self.singles: list[Msg] = []

    async def on_batch(self, msg: Msg) -> None:
        self.batches.append(msgspec.json.decode(msg.data, type=ExchangeTokensRequest))

    async def on_single(self, msg: Msg) -> None:
        self.singles.append(msg)

    def batch_ids(self, prefix: str) -> list[list[str]]:
        """The request ids of each batch whose items' ids start with ``prefix``."""
        found = ([i.request_id for i in b.items if i.request_id.startswith(prefix)] for b in self.batches)
        return [ids for ids in found if ids]

    def single_ids(self, prefix: str) -> list[str]:
        """The request ids starting with ``prefix`` of the single requests (``Mavio-Request-Id``)."""
        ids = ((m.headers or {}).get(subjects.REQUEST_ID_HEADER, "") for m in self.singles)
        return [rid for rid in ids if rid.startswith(prefix)]


@contextlib.asynccontextmanager
async def watching(nc: NATS) -> AsyncIterator[ExchangeWatch]:
    found = ExchangeWatch()
    subs = [
        await nc.subscribe(subjects.TOKEN_EXCHANGE_MANY, cb=found.on_batch),
        await nc.subscribe(subjects.replica_subject(subjects.TOKEN_EXCHANGE_MANY, "*"), cb=found.on_batch),
        await nc.subscribe(subjects.TOKEN_EXCHANGE, cb=found.on_single),
    ]
    await nc.flush()
    try:
        yield found
    finally:
        for sub in subs:
            await sub.unsubscribe()
