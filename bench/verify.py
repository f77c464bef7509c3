"""Token verification over the bus, the hot path: ``mavio.oauth.v1.token.verify`` one token per message
(``verify_load``), and ``shared.verify_client.TokenVerifier`` batching the misses of each event-loop turn
into ``token.verify_many`` messages (``batching_verify_load``: verified tokens per second).

The batch limit (``shared.verify_client.batch.DEFAULT_MAX_BATCH``) was chosen with
``--verify-batch 16 64 256`` (issue 28): see that module's docstring for the figures.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from nats.aio.client import Client as NATS

from bench.load import Window, measure
from shared import subjects
from shared.verify_client import TokenVerifier

Item = TypeVar("Item")


async def _rotating_load(
    check: Callable[[Item], Awaitable[bool]],
    items: list[Item],
    *,
    pids: dict[str, int],
    concurrency: int,
    warmup: float,
    duration: float,
    repeats: int,
    label: str,
) -> Window:
    """``concurrency`` workers, each checking the items in its own order (spread over the whole list)."""
    cursor = [0] * concurrency

    async def one(i: int) -> bool:
        cursor[i] = (cursor[i] + 1) % len(items)
        return await check(items[(i * 7919 + cursor[i]) % len(items)])

    timing = {"warmup": warmup, "duration": duration, "repeats": repeats}
    return await measure(one, concurrency=concurrency, pids=pids, label=label, **timing)


async def verify_load(nc: NATS, tokens: list[str], **scenario: Any) -> Window:
    """One ``token.verify`` request per token (``scenario``: ``_rotating_load``'s keywords)."""

    async def check(payload: bytes) -> bool:
        msg = await nc.request(subjects.TOKEN_VERIFY, payload, timeout=5)
        return msg.data.startswith(b'{"active":true')

    return await _rotating_load(check, [json.dumps({"token": t}).encode() for t in tokens], **scenario)


async def batching_verify_load(nc: NATS, tokens: list[str], *, max_batch: int, **scenario: Any) -> Window:
    """``concurrency`` callers of one batching ``TokenVerifier`` (no cache: every call is a miss); a
    window's req/s is verified tokens per second."""
    verifier = TokenVerifier(nc, timeout=5, max_batch=max_batch)

    async def check(token: str) -> bool:
        return (await verifier.verify(token)).active

    try:
        return await _rotating_load(check, tokens, **scenario)
    finally:
        await verifier.close()
