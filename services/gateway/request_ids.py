"""Request ids for requests that bring none (``X-Request-Id``)."""

from __future__ import annotations

import itertools
import os


class RequestIds:
    """32 hex digits: a random per-process prefix and a counter (unique, not secret: no random read per
    request)."""

    def __init__(self) -> None:
        self._prefix = os.urandom(8).hex()
        self._counter = itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter) & 0xFFFFFFFFFFFFFFFF:016x}"
