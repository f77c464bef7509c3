"""A service starting while JetStream cannot answer yet (a NATS cluster still electing its meta leader;
here a server that has no JetStream at first) waits for the audit stream instead of crashing."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import nats
import pytest
import structlog

from services.stack.embedded import die_with_parent, nats_server_path, wait_port
from shared.events import AUDIT_STREAM, ensure_audit_stream_at_start
from tests.support.polling import eventually
from tests.support.system import unused_port


def start_plain_nats(port: int, store: Path | None) -> subprocess.Popen[bytes]:
    cmd = [nats_server_path(), "-a", "127.0.0.1", "-p", str(port)]
    if store is not None:
        cmd += ["-js", "-sd", str(store)]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=die_with_parent
    )
    wait_port(port, proc)
    return proc


async def test_the_audit_stream_is_awaited_until_jetstream_answers(tmp_path: Path) -> None:
    port = unused_port()
    server = start_plain_nats(port, None)  # no JetStream yet
    nc = await nats.connect(f"nats://127.0.0.1:{port}", max_reconnect_attempts=-1, reconnect_time_wait=0.1)
    try:
        with structlog.testing.capture_logs() as logs:
            waiting = asyncio.create_task(ensure_audit_stream_at_start(nc, replicas=1, timeout=60))

            async def said() -> bool:  # it has failed and said so at least once
                return any("audit stream not available" in e["event"] for e in logs)

            await eventually(said, timeout=30)
            assert not waiting.done()
            server.terminate()
            server.wait(10)
            server = start_plain_nats(port, tmp_path / "js")  # now with JetStream, same address
            await asyncio.wait_for(waiting, 60)
        info = await nc.jetstream().stream_info(AUDIT_STREAM)
        assert info.config.name == AUDIT_STREAM
    finally:
        await nc.close()
        server.terminate()
        server.wait(10)


async def test_without_jetstream_it_gives_up_after_its_timeout() -> None:
    port = unused_port()
    server = start_plain_nats(port, None)
    nc = await nats.connect(f"nats://127.0.0.1:{port}")
    try:
        with pytest.raises(Exception):  # noqa: B017 - whatever JetStream's absence raises, it is raised
            await ensure_audit_stream_at_start(nc, replicas=1, timeout=1.0)
    finally:
        await nc.close()
        server.terminate()
        server.wait(10)
