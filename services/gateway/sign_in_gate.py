"""A bound on the password checks in flight in one gateway process, overall and per client address."""

from __future__ import annotations

import contextlib
from collections import Counter as Tally
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

PER_ADDRESS = 2  # password checks in flight from one address, per gateway process


@dataclass
class SignInGate:
    """Bounds the password checks in flight in this process (overall and per address)."""

    capacity: int
    per_address: int = PER_ADDRESS
    busy: Tally[str] = field(default_factory=Tally)

    @property
    def in_flight(self) -> int:
        return sum(self.busy.values())

    @contextlib.asynccontextmanager
    async def slot(self, address: str) -> AsyncIterator[str]:
        """Yields ``""`` with a slot held, or why there is none: ``"address"`` or ``"busy"``."""
        if self.busy[address] >= self.per_address:
            yield "address"
            return
        if self.in_flight >= self.capacity:
            yield "busy"
            return
        self.busy[address] += 1
        try:
            yield ""
        finally:
            self.busy[address] -= 1
            if self.busy[address] <= 0:
                del self.busy[address]
