"""Token verification over the bus, the hot path: ``mavio.oauth.v1.token.verify`` one token per message
(``verify_load``), and ``shared.verify_client.TokenVerifier`` batching the misses of each event-loop turn
into ``token.verify_many`` messages (``batching_verify_load``: verified tokens per second).

The batch limit (``shared.verify_client.batch.DEFAULT_MAX_BATCH``) was chosen with
``--verify-batch 16 64 256`` (issue 28): see that module's docstring for the figures.
"""

from __future__ import annotations

import json

from nats.aio.client import Client as NATS

from bench.load import Window, measure
from shared import subjects
from shared.verify_client import TokenVerifier


async def verify_load(
    nc: NATS,
    tokens: list[str],
    *,
    pids: dict[str, int],
    concurrency: int,
    warmup: float,
    duration: float,
    repeats: int,
    label: str,
) -> Window:
    payloads = [json.dumps({"token": t}).encode() for t in tokens]
    cursor = [0] * concurrency

    async def one(i: int) -> bool:
        cursor[i] = (cursor[i] + 1) % len(payloads)
        msg = await nc.request(
            subjects.TOKEN_VERIFY, payloads[(i * 7919 + cursor[i]) % len(payloads)], timeout=5
        )
        return msg.data.startswith(b'{"active":true')

    return await measure(
        one,
        concurrency=concurrency,
        warmup=warmup,
        duration=duration,
        repeats=repeats,
        pids=pids,
        label=label,
    )


async def batching_verify_load(
    nc: NATS,
    tokens: list[str],
    *,
    max_batch: int,
    pids: dict[str, int],
    concurrency: int,
    warmup: float,
    duration: float,
    repeats: int,
    label: str,
) -> Window:
    """``concurrency`` callers of one batching ``TokenVerifier`` (no cache: every call is a miss); a
    window's req/s is verified tokens per second."""
    verifier = TokenVerifier(nc, timeout=5, max_batch=max_batch)
    cursor = [0] * concurrency

    async def one(i: int) -> bool:
        cursor[i] = (cursor[i] + 1) % len(tokens)
        return (await verifier.verify(tokens[(i * 7919 + cursor[i]) % len(tokens)])).active

    try:
        return await measure(
            one,
            concurrency=concurrency,
            warmup=warmup,
            duration=duration,
            repeats=repeats,
            pids=pids,
            label=label,
        )
    finally:
        await verifier.close()
