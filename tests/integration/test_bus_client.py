"""``shared.bus_client``: the connection every process makes (``connect_nats``) writes its queued
commands out every ``MAVIO_BUS_FLUSH_EVERY`` commands, before its event loop's turn, in order; on a
real nats-server."""

from __future__ import annotations

import asyncio

from shared.bus_client import ChunkedFlushClient
from shared.config import load_settings
from shared.lifecycle import connect_nats
from tests.support.system import HARNESS, System


async def _client(system: System, flush_every: int) -> ChunkedFlushClient:
    env = system.servers.env(HARNESS) | {"MAVIO_BUS_FLUSH_EVERY": str(flush_every)}
    nc = await connect_nats(load_settings(env), name="test-flush")
    assert isinstance(nc, ChunkedFlushClient)
    return nc


async def _receiver(system: System, subject: str) -> tuple[list[bytes], asyncio.Event]:
    got: list[bytes] = []
    done = asyncio.Event()

    async def on_msg(msg: object) -> None:
        got.append(msg.data)  # type: ignore[attr-defined]
        if len(got) == 100:
            done.set()

    await system.nc.subscribe(subject, cb=on_msg)
    await system.nc.flush()
    return got, done


async def test_every_nth_command_writes_the_queue_before_the_loop_turns(system: System) -> None:
    nc = await _client(system, 4)
    try:
        for i in range(3):  # no await here gives the loop a turn: publish only queues
            await nc.publish("test.flush.chunks", str(i).encode())
        assert len(nc._pending) == 3
        await nc.publish("test.flush.chunks", b"3")
        assert nc._pending == [] and nc._pending_data_size == 0  # written out: the 4th filled the chunk
    finally:
        await nc.drain()


async def test_zero_leaves_the_writing_to_the_loop_turn(system: System) -> None:
    nc = await _client(system, 0)
    try:
        for i in range(40):
            await nc.publish("test.flush.off", str(i).encode())
        assert len(nc._pending) == 40
        await nc.flush()
        assert nc._pending == []
    finally:
        await nc.drain()


async def test_chunks_keep_the_order_of_every_message(system: System) -> None:
    got, done = await _receiver(system, "test.flush.order")
    nc = await _client(system, 7)
    try:
        for i in range(100):
            await nc.publish("test.flush.order", str(i).encode())
            if i % 13 == 0:
                await asyncio.sleep(0)  # the flusher's turns mixed in with the chunked writes
        await asyncio.wait_for(done.wait(), 10)
        assert got == [str(i).encode() for i in range(100)]
    finally:
        await nc.drain()


async def test_requests_through_chunked_writes_get_their_own_replies(system: System) -> None:
    async def echo(msg: object) -> None:
        await msg.respond(b"re:" + msg.data)  # type: ignore[attr-defined]

    await system.nc.subscribe("test.flush.echo", cb=echo)
    await system.nc.flush()
    nc = await _client(system, 5)
    try:
        replies = await asyncio.gather(
            *(nc.request("test.flush.echo", str(i).encode(), timeout=10) for i in range(64))
        )
        assert [r.data for r in replies] == [f"re:{i}".encode() for i in range(64)]
    finally:
        await nc.drain()
