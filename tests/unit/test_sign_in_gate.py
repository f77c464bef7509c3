"""``SignInGate``: password checks in flight per process, overall and per address, and the fair
queue in front of them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from services.gateway.sign_in_gate import SignInGate


async def test_an_address_gets_its_share_and_the_rest_is_busy() -> None:
    gate = SignInGate(capacity=3, per_address=2)
    async with contextlib.AsyncExitStack() as stack:
        assert await stack.enter_async_context(gate.slot("a")) == ""
        assert await stack.enter_async_context(gate.slot("a")) == ""
        async with gate.slot("a") as third:
            assert third == "address"
        assert await stack.enter_async_context(gate.slot("b")) == ""
        async with gate.slot("c") as full:
            assert full == "busy"
        assert gate.in_flight == 3
    assert gate.in_flight == 0 and not gate.busy


async def test_a_slot_is_released_when_the_check_fails() -> None:
    gate = SignInGate(capacity=1)
    with contextlib.suppress(RuntimeError):
        async with gate.slot("a"):
            raise RuntimeError("registry timed out")
    async with gate.slot("b") as got:
        assert got == ""


# ---- the fair queue (MAVIO_LOGIN_QUEUE_WAIT) ---------------------------------------------------


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.001)


class Holder:
    """Sign-ins that hold their slot until released one by one, in the order asked."""

    def __init__(self, gate: SignInGate) -> None:
        self.gate = gate
        self.got: list[tuple[str, str]] = []
        self.releases: dict[int, asyncio.Event] = {}
        self.tasks: list[asyncio.Task[None]] = []

    def ask(self, address: str) -> int:
        n = len(self.tasks)
        self.releases[n] = asyncio.Event()
        self.tasks.append(asyncio.create_task(self._hold(n, address)))
        return n

    async def _hold(self, n: int, address: str) -> None:
        async with self.gate.slot(address) as refused:
            self.got.append((address, refused))
            if not refused:
                await self.releases[n].wait()

    def release(self, n: int) -> None:
        self.releases[n].set()

    async def close(self) -> None:
        for event in self.releases.values():
            event.set()
        await asyncio.gather(*self.tasks)


async def test_busy_addresses_cannot_starve_another_address() -> None:
    """Two addresses holding every slot (today's 503 for everyone else): a sign-in from a third address
    waits, and the next slot freed goes to it, not to the busy addresses' next checks."""
    gate = SignInGate(capacity=4, per_address=2, wait=30)
    h = Holder(gate)
    a1, _, b1, _ = h.ask("a"), h.ask("a"), h.ask("b"), h.ask("b")
    await until(lambda: gate.in_flight == 4)
    h.ask("a")
    h.ask("b")
    await until(lambda: gate.queued == 2)
    h.ask("c")
    await until(lambda: gate.queued == 3)
    h.release(a1)
    await until(lambda: ("c", "") in h.got)
    assert gate.busy == {"a": 1, "b": 2, "c": 1} and gate.queued == 2
    h.release(b1)  # "a" and "b" may each take one more now: "a" was served longer ago
    await until(lambda: len(h.got) == 6)
    assert h.got[-1] == ("a", "")
    await h.close()
    assert gate.in_flight == 0 and gate.queued == 0 and not gate.waiting


async def test_a_sign_in_that_waits_past_the_bound_is_busy_and_leaves_no_trace() -> None:
    gate = SignInGate(capacity=1, wait=0.05)
    h = Holder(gate)
    first = h.ask("a")
    await until(lambda: gate.in_flight == 1)
    h.ask("b")
    await until(lambda: len(h.got) == 2)
    assert h.got[1] == ("b", "busy")
    assert gate.queued == 0 and not gate.waiting
    h.release(first)
    await h.close()
    assert gate.in_flight == 0


async def test_an_address_may_queue_only_its_share() -> None:
    gate = SignInGate(capacity=8, per_address=1, wait=30, queue_per_address=2)
    h = Holder(gate)
    held = h.ask("a")
    await until(lambda: gate.in_flight == 1)
    h.ask("a")
    h.ask("a")
    await until(lambda: gate.queued == 2)
    h.ask("a")
    await until(lambda: len(h.got) == 2)
    assert h.got[-1] == ("a", "address")
    h.release(held)
    await until(lambda: len(h.got) == 3)
    await h.close()
    assert [r for _, r in h.got].count("") == 3


async def test_a_waiter_whose_client_went_away_hands_its_slot_on() -> None:
    gate = SignInGate(capacity=1, wait=30)
    h = Holder(gate)
    held = h.ask("a")
    await until(lambda: gate.in_flight == 1)
    gone = h.ask("b")
    h.ask("c")
    await until(lambda: gate.queued == 2)
    h.tasks[gone].cancel()
    await until(lambda: gate.queued == 1)
    h.release(held)
    await until(lambda: ("c", "") in h.got)
    h.tasks.pop(gone)
    await h.close()
    assert gate.in_flight == 0 and not gate.waiting


async def test_addresses_filling_the_queue_cannot_keep_another_address_out() -> None:
    """Many addresses together filling the process's queue (``max_waiting``: 140 addresses did it on a
    live gateway, and every other sign-in was answered 503 at once): a sign-in from an address with
    fewer waiting than the longest queue takes the place of that queue's newest waiter (busy)."""
    gate = SignInGate(capacity=1, per_address=1, wait=30, queue_per_address=4, max_waiting=4)
    h = Holder(gate)
    held = h.ask("a")
    await until(lambda: gate.in_flight == 1)
    for address in ("a", "a", "b", "c"):
        h.ask(address)
    await until(lambda: gate.queued == 4)
    h.ask("d")
    await until(lambda: len(h.got) == 2)
    assert h.got[-1] == ("a", "busy")  # the newest waiter of the longest queue made room
    assert gate.queued == 4 and len(gate.waiting["d"]) == 1
    h.ask("d")  # every queue as long as d's: no one makes room for d's second sign-in
    await until(lambda: len(h.got) == 3)
    assert h.got[-1] == ("d", "busy")
    h.release(held)
    await h.close()
    assert ("d", "") in h.got and gate.in_flight == 0 and not gate.waiting


async def test_an_address_served_before_waits_behind_one_never_served() -> None:
    """An address that was served and went idle is still remembered as served when it comes back: a
    flood from many addresses, each idle now and then, must not look "never served" and go ahead of a
    sign-in from a new address (on a live gateway the victim then waited out its 5 s and got 503)."""
    gate = SignInGate(capacity=1, per_address=1, wait=30)
    h = Holder(gate)
    first = h.ask("a")
    await until(lambda: gate.in_flight == 1)
    h.release(first)
    await until(lambda: gate.in_flight == 0)
    held = h.ask("b")
    await until(lambda: gate.in_flight == 1)
    h.ask("a")
    await until(lambda: gate.queued == 1)
    h.ask("c")
    await until(lambda: gate.queued == 2)
    h.release(held)
    await until(lambda: len(h.got) == 3)
    assert h.got[-1] == ("c", "")
    await h.close()
    assert gate.in_flight == 0 and not gate.waiting
