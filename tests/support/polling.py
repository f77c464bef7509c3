"""Waiting for something without a fixed sleep: poll its condition until it holds or a deadline passes.

A test that waits for a background step (a flush, an event, a subscription) polls for the step's
visible result; a fixed pause is either too short on a loaded machine or wasted time on an idle one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

DEADLINE = 10.0  # seconds; a deadline only: a passing poll returns as soon as its condition holds
PAUSE = 0.02


async def eventually(
    probe: Callable[[], Awaitable[T]], accept: Callable[[T], bool] = bool, *, timeout: float = DEADLINE
) -> T:
    """Poll ``probe`` until ``accept`` holds; fail with the last value after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if accept(value) or time.monotonic() > deadline:
            assert accept(value), value
            return value
        await asyncio.sleep(PAUSE)


def eventually_sync(
    probe: Callable[[], T],
    accept: Callable[[T], bool] = bool,
    *,
    timeout: float = DEADLINE,
    pause: float = PAUSE,
) -> T:
    """``eventually`` for a test outside an event loop (child processes, containers); a longer
    ``pause`` between probes that cost more than a round trip."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if accept(value) or time.monotonic() > deadline:
            assert accept(value), value
            return value
        time.sleep(pause)


async def until(what: str, probe: Callable[[], Awaitable[bool]], *, timeout: float = DEADLINE) -> None:
    """Poll ``probe`` until it is true; fail naming ``what`` did not happen within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not await probe():
        assert time.monotonic() < deadline, f"not within {timeout:.0f}s: {what}"
        await asyncio.sleep(PAUSE * 5)
