"""A bound on the password checks in flight in one gateway process, overall and per client address,
with a fair queue in front of it.

At most ``capacity`` checks run at once (MAVIO_LOGIN_CONCURRENCY), at most ``per_address`` of them
from one address. A sign-in that finds no slot waits, up to ``wait`` seconds (MAVIO_LOGIN_QUEUE_WAIT),
in its address's own queue; a freed slot goes to the waiting address served least recently (an idle
address is remembered, up to ``REMEMBERED`` of them, so a returning one never passes for new), so a few
addresses keeping their checks in flight cannot starve everyone else: a sign-in from another address
gets the next free slot. Each address may queue ``queue_per_address`` sign-ins (``"address"`` beyond
that, 429); a sign-in still waiting after ``wait`` seconds gets ``"busy"`` (503). When ``max_waiting``
sign-ins already wait, one from an address with fewer waiting than the longest queue takes the place
of that queue's newest waiter (answered ``"busy"``); otherwise it is ``"busy"`` at once. So many
addresses filling the queue together cannot keep another address out of it. With ``wait`` 0 nothing
queues: no slot is an immediate refusal.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import Counter as Tally
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

PER_ADDRESS = 2  # password checks in flight from one address, per gateway process
QUEUE_PER_ADDRESS = 4  # sign-ins from one address waiting for a slot
MAX_WAITING = 512  # sign-ins waiting in this process, all addresses together
REMEMBERED = 4096  # addresses whose last slot is remembered (the least recently served forgotten first)


@dataclass
class SignInGate:
    """Bounds the password checks in flight in this process (overall and per address)."""

    capacity: int
    per_address: int = PER_ADDRESS
    busy: Tally[str] = field(default_factory=Tally)
    wait: float = 0.0  # seconds a sign-in may wait for a slot
    queue_per_address: int = QUEUE_PER_ADDRESS
    max_waiting: int = MAX_WAITING
    # each waiter's future: True when it was granted a slot, False when it made room for another address
    waiting: dict[str, deque[asyncio.Future[bool]]] = field(default_factory=dict)
    # address -> when it last got a slot, kept while it is idle (an address of a flood that is idle now
    # and then must not pass for never served), oldest first, at most ``remembered``
    _served: dict[str, int] = field(default_factory=dict)
    remembered: int = REMEMBERED
    _turns: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def in_flight(self) -> int:
        return sum(self.busy.values())

    @property
    def queued(self) -> int:
        return sum(len(q) for q in self.waiting.values())

    @contextlib.asynccontextmanager
    async def slot(self, address: str) -> AsyncIterator[str]:
        """Yields ``""`` with a slot held, or why there is none: ``"address"`` or ``"busy"``."""
        refused = self._take(address)
        if refused == "wait":
            refused = await self._queue(address)
        if refused:
            yield refused
            return
        try:
            yield ""
        finally:
            self._release(address)

    def _take(self, address: str) -> str:
        """``""`` with a slot taken now, else ``"wait"`` or an immediate refusal."""
        if self.busy[address] < self.per_address and self.in_flight < self.capacity:
            self._grant(address)
            return ""
        if self.wait <= 0:
            return "address" if self.busy[address] >= self.per_address else "busy"
        if len(self.waiting.get(address, ())) >= self.queue_per_address:
            return "address"
        if self.queued >= self.max_waiting and not self._make_room(address):
            return "busy"
        return "wait"

    def _make_room(self, address: str) -> bool:
        """The queue is full: the newest waiter of the longest queue leaves (``"busy"``) when that queue
        is longer than ``address``'s; False when none is."""
        mine = len(self.waiting.get(address, ()))
        longest = max(self.waiting, key=lambda a: len(self.waiting[a]))
        if len(self.waiting[longest]) <= mine:
            return False
        self.waiting[longest].pop().set_result(False)
        if not self.waiting[longest]:
            del self.waiting[longest]
        return True

    async def _queue(self, address: str) -> str:
        turn: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(address, deque()).append(turn)
        try:
            await asyncio.wait({turn}, timeout=self.wait)
        except asyncio.CancelledError:  # the client is gone: a slot granted meanwhile is handed on
            if not turn.done():
                self._forget(address, turn)
            elif turn.result():
                self._release(address)
            raise
        if not turn.done():
            self._forget(address, turn)
            return "busy"
        return "" if turn.result() else "busy"

    def _grant(self, address: str) -> None:
        self.busy[address] += 1
        self._served.pop(address, None)  # to the end: the dict stays ordered by turn
        self._served[address] = next(self._turns)
        if len(self._served) > self.remembered:
            del self._served[next(iter(self._served))]

    def _release(self, address: str) -> None:
        self.busy[address] -= 1
        if self.busy[address] <= 0:
            del self.busy[address]
        self._hand_on()

    def _hand_on(self) -> None:
        """Free slots to the waiting addresses that may take one, least recently served first."""
        while self.in_flight < self.capacity:
            ready = [a for a in self.waiting if self.busy[a] < self.per_address]
            if not ready:
                return
            address = min(ready, key=lambda a: self._served.get(a, -1))
            turn = self.waiting[address].popleft()
            if not self.waiting[address]:
                del self.waiting[address]
            self._grant(address)
            turn.set_result(True)

    def _forget(self, address: str, turn: asyncio.Future[bool]) -> None:
        turn.cancel()
        queue = self.waiting.get(address)
        if queue is not None and turn in queue:
            queue.remove(turn)
            if not queue:
                del self.waiting[address]
