"""Revocation's command queue on a real nats-server with JetStream: a command that fails is handed out
again until it is done, the sender that stopped waiting is told "pending" meanwhile, and a message
that is not a command is dropped instead of blocking the queue."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NATS
from prometheus_client import CollectorRegistry, Gauge

from services.revocation.commands import CommandWorker
from shared import subjects
from shared.commands import COMMAND_STREAM, CommandSender, ensure_command_queue, pending_commands
from shared.errors import TemporarilyUnavailable
from shared.messages.commands import Command, RevokeApp
from shared.messages.revocation import RevokeAppReply
from tests.integration.test_audit_stream_start import start_plain_nats
from tests.support.polling import until
from tests.support.system import unused_port


@pytest.fixture
async def bus(tmp_path: Path) -> AsyncIterator[NATS]:
    port = unused_port()
    server = start_plain_nats(port, tmp_path / "js")
    nc = await nats.connect(f"nats://127.0.0.1:{port}")
    await ensure_command_queue(nc)
    try:
        yield nc
    finally:
        await nc.close()
        server.terminate()
        server.wait(10)


async def test_a_failing_command_is_retried_until_done_and_the_sender_told_pending(bus: NATS) -> None:
    tries: list[Command] = []

    async def handle(command: Command) -> RevokeAppReply:
        tries.append(command)
        if len(tries) < 3:
            raise TemporarilyUnavailable("storage is not reachable")
        return RevokeAppReply(families_revoked=4)

    gauge = Gauge("pending", "", registry=CollectorRegistry())
    worker = CommandWorker(bus, bus, handle, pending=gauge)
    await worker.start()
    try:
        sender = CommandSender(bus, bus, timeout=0.5)
        command = RevokeApp(client_id="mavio_client_x", reason="app_deleted", actor="usr_1")
        assert await sender.send(command, RevokeAppReply) is None  # pending: the first try failed

        async def done() -> bool:
            return len(tries) == 3 and await pending_commands(bus) == 0

        await until("the third try succeeded and the command left the queue", done, timeout=20)
        assert tries == [command] * 3
        assert await sender.send(command, RevokeAppReply) == RevokeAppReply(families_revoked=4)  # in time

        async def measured() -> bool:
            return gauge._value.get() == 0

        await until("the gauge shows the empty queue", measured, timeout=20)
    finally:
        await worker.close()


async def test_a_message_that_is_not_a_command_does_not_block_the_queue(bus: NATS) -> None:
    seen: list[Command] = []

    async def handle(command: Command) -> RevokeAppReply:
        seen.append(command)
        return RevokeAppReply(families_revoked=0)

    await bus.jetstream().publish(subjects.COMMAND_REVOKE_APP, b'{"junk": true}', stream=COMMAND_STREAM)
    worker = CommandWorker(bus, bus, handle)
    await worker.start()
    try:
        command = RevokeApp(client_id="mavio_client_y", reason="app_revoke_all")
        reply = await CommandSender(bus, bus, timeout=10).send(command, RevokeAppReply)
        assert reply == RevokeAppReply(families_revoked=0) and seen == [command]
        assert await pending_commands(bus) == 0
    finally:
        await worker.close()
