"""``python -m examples.device_login`` end to end: the CLI (a real process) prints the code and where to
enter it, the user approves through /device's forms, and the CLI polls, signs in and lists the user's
meetings from the example Meetings API."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from examples import meetings_api
from services.stack.embedded import free_port
from tests.support.device_flow import approve
from tests.support.system import System
from tests.support.token_flow import new_party

DEADLINE = 60.0
CODE = re.compile(r"open (\S+) and enter the code ([A-Z]{4}-[A-Z]{4})")


@asynccontextmanager
async def meetings(system: System) -> AsyncIterator[str]:
    port = free_port()
    runner = web.AppRunner(meetings_api.create_app(system.nc), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_the_device_login_example_signs_in_and_calls_the_api(system: System) -> None:
    party = await new_party(system, device_flow=True, name="Meetings CLI")
    async with meetings(system) as api:
        args = ["--issuer", system.base_url, "--client-id", party.client_id, "--api", api]
        env = {**os.environ, "MAVIO_CLIENT_SECRET": party.secret}
        cli = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "examples.device_login", *args,
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            assert cli.stdout is not None
            first = (await asyncio.wait_for(cli.stdout.readline(), DEADLINE)).decode()
            found = CODE.search(first)
            assert found, first + (await cli.stderr.read()).decode()  # type: ignore[union-attr]
            assert found.group(1) == system.url("/device")
            await approve(system, party, found.group(2))
            out, err = await asyncio.wait_for(cli.communicate(), DEADLINE)
        finally:
            if cli.returncode is None:
                cli.kill()
                await cli.wait()
    assert cli.returncode == 0, err.decode()
    text = out.decode()
    assert "Signed in (meetings:read)." in text
    assert "Weekly planning" in text and "Customer call: Acme" in text
