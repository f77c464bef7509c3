"""``make run``'s embedded stack requires authentication: fresh credentials, private files, the stack file
with the CLI's own credentials, and nothing for a client without credentials."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import sys
import tempfile
from pathlib import Path

import nats
import nats.errors
import pytest
import redis.asyncio as aioredis
import redis.exceptions

from shared import stack_file
from tests.support.system import unused_port

CLI = str(Path(sys.executable).with_name("mavio-oauth"))


async def wait_for_line(stream: asyncio.StreamReader, needle: str, timeout: float) -> None:
    async def scan() -> None:
        while line := await stream.readline():
            if needle in line.decode():
                return
        raise AssertionError(f"the stack exited before printing {needle!r}")

    await asyncio.wait_for(scan(), timeout)


async def test_the_embedded_stack_authenticates_every_client() -> None:
    port = unused_port()
    with tempfile.TemporaryDirectory(prefix="mavio-stack-") as run_dir:
        env = {
            **os.environ,
            "MAVIO_RUN_DIR": run_dir,
            "MAVIO_HTTP_PORT": str(port),
            "MAVIO_LOG_LEVEL": "warning",
        }
        for name in ("MAVIO_NATS_URL", "MAVIO_REDIS_URL", "MAVIO_PUBLIC_URL"):
            env.pop(name, None)
        stack = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.stack", env=env, stdout=asyncio.subprocess.PIPE
        )
        try:
            assert stack.stdout is not None
            await wait_for_line(stack.stdout, "ready at", timeout=120)
            folder = Path(run_dir) / str(port)
            for private in ("stack.env", "nats-auth.conf", "redis.acl"):
                assert stat.S_IMODE((folder / private).stat().st_mode) == 0o600, private
            cli_env = stack_file.read(folder / "stack.env").client_env()
            assert cli_env["MAVIO_NATS_USER"] == "cli"
            with pytest.raises((nats.errors.Error, OSError)):
                await nats.connect(cli_env["MAVIO_NATS_URL"], allow_reconnect=False, max_reconnect_attempts=0)
            async with aioredis.Redis.from_url(cli_env["MAVIO_REDIS_URL"]) as anonymous:
                with pytest.raises(redis.exceptions.AuthenticationError):
                    await anonymous.ping()
            cli = await asyncio.create_subprocess_exec(
                CLI, "users", "list", env={**os.environ, **cli_env}, stdout=asyncio.subprocess.PIPE
            )
            out, _ = await asyncio.wait_for(cli.communicate(), 60)
            assert cli.returncode == 0 and b"demo@mavio.example" in out
        finally:
            stack.send_signal(signal.SIGTERM)
            await asyncio.wait_for(stack.wait(), 60)
