"""``make run``'s embedded stack requires authentication: fresh credentials, private files, the CLI's own
environment file, and nothing for a client without credentials."""

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

from tests.support.system import unused_port

CLI = str(Path(sys.executable).with_name("mavio-oauth"))


def read_env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line)
    return {key: value.strip("'") for key, value in pairs}


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
            await wait_for_line(stack.stdout, "operator CLI credentials", timeout=120)
            folder = Path(run_dir) / str(port)
            for private in ("cli.env", "nats-auth.conf", "redis.acl"):
                assert stat.S_IMODE((folder / private).stat().st_mode) == 0o600, private
            cli_env = read_env_file(folder / "cli.env")
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
