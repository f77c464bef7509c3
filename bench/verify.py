"""Token verification over the bus (``mavio.oauth.v1.token.verify``), the hot path."""

from __future__ import annotations

import json

from nats.aio.client import Client as NATS

from bench.load import Window, measure
from shared import subjects


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
