"""Many verifications per bus message: the tokens a ``TokenVerifier`` sends within one event-loop turn go
out as ONE ``mavio.oauth.v1.token.verify_many`` request (at once when ``max_batch`` are waiting), and each
caller gets its own answer from the reply, in order. A lone token goes out on ``token.verify``: a
smaller message, and at 1 caller the cheaper of the two in ``python -m bench`` (token service 293
against 348 µs of CPU per verification, one noisy run: at one caller the processes' wake-ups dominate).

When no replica serves ``token.verify_many`` (token replicas older than this client, during a rolling
upgrade) the message's tokens go out one by one on ``token.verify``. Any other bus error (timeout,
bus down, an error reply, an unreadable reply) fails every token of that message with the same
exception, as a single request would have failed. A caller cancelled while
waiting gives up only its own answer: the message is sent and answered for the others (it is a task of
its own, not the caller's).

Batch limit ``DEFAULT_MAX_BATCH`` = 64, from three short runs of ``python -m bench --verify-batch ...``
(2 cores shared with other work, 256 concurrent callers, one token replica): CPU per verified token in
µs, token service / requester, one run per column:

    token.verify, 100 callers   41.8 / 28.7   52.8 / 36.5   51.0 / 36.3
    at most 16 per message       8.9 /  7.9   10.3 /  9.4   11.8 / 10.5
    at most 64                   7.2 /  6.3   10.1 /  8.5   10.3 /  8.8
    at most 128                       -             -        8.4 /  7.5
    at most 256                  7.4 /  6.1    7.8 /  6.8    9.6 /  7.9
    (nats-server 1.0-1.8 and redis-server 1.2-1.8 µs for every batch limit)

At 64 a message saves 94 % or more of what one of 256 saves over ``token.verify`` (token service CPU);
the rest is within run-to-run noise, while one message per turn goes to ONE token replica (the queue
group picks per message) and no replica can work on one part while the requester decodes another: 64
keeps the work spread over the replicas and the processes overlapping. The token service refuses more
than ``MAX_VERIFY_MANY`` (256). The answers stay RFC 7662 objects: an ``array_like`` reply would save
about 0.15 µs of encoding and decoding per answer (1 % of the total), not worth a second shape of the
same answer.
"""

from __future__ import annotations

import asyncio

from shared import subjects
from shared.bus import Bus, NoResponders
from shared.errors import TemporarilyUnavailable
from shared.messages.token import (
    MAX_VERIFY_MANY,
    Introspection,
    VerifyManyReply,
    VerifyManyRequest,
    VerifyTokenRequest,
)
from shared.per_iteration import PerIteration

DEFAULT_MAX_BATCH = 64

_Waiting = tuple[str, "asyncio.Future[Introspection]"]


class VerifyBatcher(PerIteration[_Waiting]):
    """The bus side of ``TokenVerifier.verify`` when batching is on; ``bus`` is the verifier's own."""

    __slots__ = ("_bus",)

    def __init__(self, bus: Bus, *, max_batch: int = DEFAULT_MAX_BATCH) -> None:
        if not 1 <= max_batch <= MAX_VERIFY_MANY:
            raise ValueError(f"max_batch must be 1 to {MAX_VERIFY_MANY} (the token service's limit)")
        super().__init__(max_batch)
        self._bus = bus

    def verify(self, token: str) -> asyncio.Future[Introspection]:
        """The RFC 7662 answer of ``token`` (well-formed: checked by the caller), from the next message."""
        future: asyncio.Future[Introspection] = asyncio.get_running_loop().create_future()
        self._enqueue((token, future))
        return future

    async def _send(self, batch: list[_Waiting]) -> None:
        try:
            answers = await self._ask([token for token, _ in batch])
        except Exception as exc:  # every caller of this message fails as a single request would
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), answer in zip(batch, answers, strict=True):
            if not future.done():  # a cancelled caller
                future.set_result(answer)

    async def _ask(self, tokens: list[str]) -> list[Introspection]:
        if len(tokens) == 1:
            return [await self._one(tokens[0])]
        try:
            reply = await self._bus.request(
                subjects.TOKEN_VERIFY_MANY, VerifyManyRequest(tokens=tokens), VerifyManyReply
            )
        except NoResponders:  # token replicas older than this client (a rolling upgrade): one by one
            return list(await asyncio.gather(*(self._one(token) for token in tokens)))
        if len(reply.answers) != len(tokens):
            raise TemporarilyUnavailable(
                "the token service sent an unreadable reply",
                debug=f"{len(reply.answers)} answers to {len(tokens)} tokens",
            )
        return reply.answers

    async def _one(self, token: str) -> Introspection:
        return await self._bus.request(subjects.TOKEN_VERIFY, VerifyTokenRequest(token=token), Introspection)
