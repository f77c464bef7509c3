"""Bounded concurrency for per-family work: a few workers share one iterator, so a cascade over
thousands of families never opens thousands of Redis connections or floods the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

LIMIT = 32  # concurrent calls; each token-store index call may use up to three connections


async def gather_bounded(items: Sequence[T], fn: Callable[[T], Awaitable[R]], limit: int = LIMIT) -> list[R]:
    """``[await fn(x) for x in items]`` with at most ``limit`` calls in flight, results in order."""
    results: dict[int, R] = {}
    work = iter(enumerate(items))

    async def worker() -> None:
        for index, item in work:
            results[index] = await fn(item)

    await asyncio.gather(*(worker() for _ in range(min(limit, len(items)))))
    return [results[i] for i in range(len(items))]
