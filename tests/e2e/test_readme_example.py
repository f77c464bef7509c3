"""README code that users copy runs as written: the resource-server example of "Verifying bearer
tokens" is taken from the README's markdown (the first ``python`` block of that section), run
against a live stack as the ``resource`` bus user, and answers 401 without a token, 403 with a token
lacking the scope and 200 with the right one. Stopped after its bus went away (``make run`` stopped
first), it logs one line per bus event instead of a traceback per reconnect attempt, and stops cleanly."""

from __future__ import annotations

import asyncio
import logging
import re
import types
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from services.stack.embedded import free_port, start_nats
from tests.support.system import System
from tests.support.token_flow import new_party, tokens_for

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "### Verifying bearer tokens"


def load_readme_example() -> types.ModuleType:
    module = types.ModuleType("readme_resource_server")
    exec(compile(readme_example(), str(README), "exec"), module.__dict__)
    return module


def readme_example() -> str:
    """The first ``python`` code block under the section's heading (before the next heading)."""
    text = README.read_text()
    assert SECTION in text, f"no {SECTION!r} section in the README"
    section = re.split(r"\n#{1,3} ", text.split(SECTION, 1)[1], maxsplit=1)[0]
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block, f"no python code block in the README's {SECTION!r}"
    return block.group(1)


@pytest.fixture
def resource_env(system: System, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The environment a resource server gets: the bus URL and the ``resource`` user's password."""
    monkeypatch.setenv("MAVIO_NATS_URL", system.servers.nats_url)
    monkeypatch.setenv("MAVIO_NATS_USER", "resource")
    monkeypatch.setenv("MAVIO_NATS_PASSWORD", system.servers.credentials.nats["resource"])
    yield


async def test_the_readme_resource_server_runs_as_written(system: System, resource_env: None) -> None:
    application = await load_readme_example().create_app()
    runner = web.AppRunner(application, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    party = await new_party(system)
    narrow = await tokens_for(system, party, scope="users:read")
    wide = await tokens_for(system, party, scope="meetings:read users:read")
    url = f"http://127.0.0.1:{port}/meetings"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(url) as resp:
                assert resp.status == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
            bearer = {"Authorization": f"Bearer {narrow['access_token']}"}
            async with http.get(url, headers=bearer) as resp:
                assert resp.status == 403 and 'error="insufficient_scope"' in resp.headers["WWW-Authenticate"]
            bearer = {"Authorization": f"Bearer {wide['access_token']}"}
            async with http.get(url, headers=bearer) as resp:
                assert resp.status == 200, await resp.text()
                assert (await resp.json())["user"] == party.user.id
    finally:
        await runner.cleanup()


async def test_the_readme_resource_server_outlives_its_bus_quietly_and_stops_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    bus = start_nats(tmp_path / "nats")  # its own bus, to stop under it (no users: no password needed)
    monkeypatch.setenv("MAVIO_NATS_URL", bus.url)
    monkeypatch.delenv("MAVIO_NATS_USER", raising=False)
    monkeypatch.delenv("MAVIO_NATS_PASSWORD", raising=False)
    runner = web.AppRunner(await load_readme_example().create_app(), access_log=None)
    try:
        await runner.setup()
        with caplog.at_level(logging.DEBUG):
            bus.stop()
            await asyncio.sleep(3)  # a few reconnect attempts
            await runner.cleanup()  # Ctrl-C of the resource server: no exception
    finally:
        bus.stop()
    tracebacks = [r.getMessage() for r in caplog.records if r.exc_info]
    assert tracebacks == [], tracebacks
