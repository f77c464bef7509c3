"""Many verifications per bus message: the tokens a ``TokenVerifier`` sends within one event-loop turn go
out as ONE ``mavio.oauth.v1.token.verify_many`` request (at once when ``max_batch`` are waiting), and each
caller gets its own answer from the reply, in order. A lone token goes out on ``token.verify`` (a smaller
message; measured as cheap as a batch of one).

A bus error (no responder, timeout, bus down, an error reply, an unreadable reply) fails every token of
that message with the same exception, as a single request would have failed. A caller cancelled while
waiting gives up only its own answer: the message is sent and answered for the others (it is a task of
its own, not the caller's).

Batch limit: ``DEFAULT_MAX_BATCH`` (64), from ``python -m bench`` on 2 cores, 256 concurrent callers, one
token replica (see ``bench.verify``): larger batches cost less CPU per token on every process, but past
64 the gain is small while the p99 rises; the token service refuses more than ``MAX_VERIFY_MANY`` (256).
"""

from __future__ import annotations

import asyncio

from shared import subjects
from shared.bus import Bus
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
            return [
                await self._bus.request(
                    subjects.TOKEN_VERIFY, VerifyTokenRequest(token=tokens[0]), Introspection
                )
            ]
        reply = await self._bus.request(
            subjects.TOKEN_VERIFY_MANY, VerifyManyRequest(tokens=tokens), VerifyManyReply
        )
        if len(reply.answers) != len(tokens):
            raise TemporarilyUnavailable(
                "the token service sent an unreadable reply",
                debug=f"{len(reply.answers)} answers to {len(tokens)} tokens",
            )
        return reply.answers
