"""Many token-endpoint requests per bus message: the requests that reach ``TokenBatcher.exchange`` within
one event-loop turn go to a token replica as ONE ``token.exchange_many`` message (at once when
``MAX_BATCH`` are waiting), and each caller gets its own reply or its own error back.

Owned by the app (``services.gateway.app``: made at start-up, stored under ``TOKEN_BATCH``, closed at
shutdown). A batch of one goes to the single ``token.exchange`` subject, as before batching: a quiet
gateway's requests cost what they cost (no wrapping), and its stats read as they did. The token
service runs every item through the very route of a single request (``shared.service_batch``), so an
item's answer, error, log lines and metrics are those of a single request. Bus errors (a timeout,
the connection) fail every item of that batch with the ``temporarily_unavailable`` a single request
gets; a whole batch refused (``invalid_request``) fails every item with that error. When no replica
serves ``token.exchange_many`` the batch reached no one, and each of its requests goes to
``token.exchange`` on its own: answered by token replicas older than the gateway (a rolling upgrade),
or, with no token replica at all, refused as a single request is (``temporarily_unavailable``).
A caller that goes away (its HTTP request cancelled) cancels only its own future: the batch goes on
for the others.

A batch goes to the token replica with the fewest of this gateway's items in flight, on that replica's
own subject (``services.gateway.replicas``); to the queue group while none is known, and again when the
replica chosen has stopped (no responder on its subject: nothing was done).

Each item is answered within ``WAIT_SHARE`` of the bus timeout (``wait_ms``): an item the token service
has not finished by then answers ``temporarily_unavailable``, the others their own answers, all before
the gateway's own bus timeout fails the whole batch.

The limit, 32, from ``python -m bench.token_batch_limits`` (gateway and token processes, 50 workers
rotating refresh tokens over HTTP, CPU from ``/proc``; two runs on a shared 2-core machine, medians of
4-5 interleaved rounds; CPU-ms per refresh, gateway + token):

    limit            1      8      16     32     64
    run 1 (4 s)      0.432  0.363   -     0.348  0.343
    run 2 (5 s)      0.418   -     0.342  0.359  0.340
    requests/message 1.0    5.3    7.2    8.7-9.6  9.8-9.9

Batching saves about a fifth of both processes' CPU per refresh (the gateway 0.23-0.24 -> 0.18-0.19 ms,
the token service 0.19 -> 0.16-0.17 ms). At 50 connections a loop turn gathers 7 to 10 requests, so
every limit from 16 up measures the same; 32 leaves room for a busier gateway (a turn with more
connections) while bounding what one reply waits for (its slowest item) and its size (with ID tokens,
about 50 KB). A request alone costs less on the single subject (1.21 ms against 1.29 ms as a batch of
one, 1 worker): it goes there.
"""

from __future__ import annotations

import asyncio
from typing import Final

from services.gateway.replicas import ReplicaLoads
from shared import subjects
from shared.bus import Bus, NoResponders, error_envelope, error_from
from shared.errors import OAuthError, TemporarilyUnavailable
from shared.messages.token import (
    ExchangeTokenItem,
    ExchangeTokenReply,
    ExchangeTokenRequest,
    ExchangeTokensReply,
    ExchangeTokensRequest,
)
from shared.per_iteration import PerIteration

MAX_BATCH: Final = 32  # items per message (``shared.messages.batch.MAX_ITEMS`` is the service's bound)
WAIT_SHARE: Final = 0.8  # of the bus timeout: how long the token service may take for a batch's items

Waiting = tuple[str, ExchangeTokenRequest, "asyncio.Future[ExchangeTokenReply]"]


class TokenBatcher(PerIteration[Waiting]):
    __slots__ = ("_bus", "_replicas", "_wait_ms")

    def __init__(
        self, bus: Bus, *, max_batch: int | None = None, replicas: ReplicaLoads | None = None
    ) -> None:
        super().__init__(MAX_BATCH if max_batch is None else max_batch)
        self._bus = bus
        self._replicas = replicas  # None: every batch to the queue group
        self._wait_ms = max(1, int(bus.timeout * WAIT_SHARE * 1000))

    def exchange(self, req: ExchangeTokenRequest, request_id: str) -> asyncio.Future[ExchangeTokenReply]:
        """The token service's reply to ``req`` (raises its error, as ``Bus.request`` would)."""
        future: asyncio.Future[ExchangeTokenReply] = asyncio.get_running_loop().create_future()
        self._enqueue((request_id, req, future))
        return future

    async def _send(self, batch: list[Waiting]) -> None:
        if len(batch) == 1:
            await self._one(*batch[0])
        else:
            await self._many(batch)

    async def _many(self, batch: list[Waiting]) -> None:
        message = ExchangeTokensRequest(
            items=[ExchangeTokenItem(request_id=rid, request=req) for rid, req, _ in batch],
            wait_ms=self._wait_ms,
        )
        try:
            reply = await self._ask(message, len(batch))
            if len(reply.items) != len(batch):
                raise TemporarilyUnavailable("the token service sent an unreadable reply")
        except NoResponders:
            # No replica serves the batch subject (older ones, during a rolling upgrade): it reached
            # no one, so each request goes on its own.
            await asyncio.gather(*(self._one(*waiting) for waiting in batch))
            return
        except Exception as exc:
            for _, _, future in batch:
                _fail(future, exc)
            return
        for (_, _, future), outcome in zip(batch, reply.items, strict=True):
            if future.done():
                continue  # its caller went away
            if outcome.error is not None:
                future.set_exception(error_from(outcome.error))
            elif outcome.reply is None:
                future.set_exception(TemporarilyUnavailable("the token service sent an unreadable reply"))
            else:
                future.set_result(outcome.reply)

    async def _ask(self, message: ExchangeTokensRequest, items: int) -> ExchangeTokensReply:
        """The batch to the known replica with the least work (``services.gateway.replicas``), or to the
        queue group when none is known or that replica has stopped (no responder on its subject)."""
        if self._replicas is not None and (replica := self._replicas.pick(items)) is not None:
            subject = subjects.replica_subject(subjects.TOKEN_EXCHANGE_MANY, replica)
            try:
                return await self._bus.request(subject, message, ExchangeTokensReply)
            except NoResponders:
                self._replicas.forget(replica)
            finally:
                self._replicas.done(replica, items)
        return await self._bus.request(subjects.TOKEN_EXCHANGE_MANY, message, ExchangeTokensReply)

    async def _one(
        self, request_id: str, req: ExchangeTokenRequest, future: asyncio.Future[ExchangeTokenReply]
    ) -> None:
        try:
            reply = await self._bus.request(
                subjects.TOKEN_EXCHANGE, req, ExchangeTokenReply, request_id=request_id
            )
        except Exception as exc:
            _fail(future, exc)
            return
        if not future.done():
            future.set_result(reply)

    async def close(self) -> None:
        """Send what is waiting and wait for every batch on its way (at most the bus timeout)."""
        self._flush()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self._bus.timeout + 1.0)


def _fail(future: asyncio.Future[ExchangeTokenReply], exc: Exception) -> None:
    """Fail one caller's future with ``exc``; each caller raises its own copy of a protocol error."""
    if future.done():
        return
    if isinstance(exc, OAuthError):
        own = error_from(error_envelope(exc))
        own.debug = exc.debug
        future.set_exception(own)
    else:
        future.set_exception(exc)
