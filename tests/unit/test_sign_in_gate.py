"""``SignInGate``: password checks in flight per process, overall and per address."""

from __future__ import annotations

import contextlib

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
