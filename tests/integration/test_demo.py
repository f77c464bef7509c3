"""``make demo`` (``python -m examples.demo``) as a developer runs it: it starts Mavio, the Meetings
API and Your App, prints what to open, and stops cleanly on SIGTERM. Your App's registration is
created on the first run and re-keyed on later ones. Unset ports are free ones, NATS and Redis
require passwords (the launcher's credentials), and a port that is set but taken is a one-line error."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import nats
import pytest
import redis.asyncio
import redis.exceptions

from examples.demo import register_your_app
from services.stack.embedded import free_port
from shared.errors import InvalidClient
from shared.registry_client import RegistryClient
from tests.support.factories import create_account
from tests.support.system import System

ROOT = Path(__file__).resolve().parents[2]


async def test_register_your_app_creates_then_rekeys(system: System) -> None:
    registry = RegistryClient(system.bus)
    owner = await create_account(system)
    first = ("http://127.0.0.1:8090/callback", "http://127.0.0.1:8090/webhooks/mavio")
    client_id, secret, hook_secret = await register_your_app(registry, owner.id, *first)
    assert (await registry.verify_client(client_id, secret)).name == "Your App"
    assert hook_secret.startswith("whsec_")
    second = ("http://127.0.0.1:9190/callback", "http://127.0.0.1:9190/webhooks/mavio")
    again, new_secret, new_hook_secret = await register_your_app(registry, owner.id, *second)
    assert again == client_id and new_secret != secret
    assert new_hook_secret.startswith("whsec_") and new_hook_secret != hook_secret
    with pytest.raises(InvalidClient):
        await registry.verify_client(client_id, secret)
    view = await registry.verify_client(client_id, new_secret)
    assert view.redirect_uris == ["http://127.0.0.1:9190/callback", "http://127.0.0.1:9190/signed-in"]
    assert view.post_logout_redirect_uris == ["http://127.0.0.1:9190/"]
    assert {"openid", "profile", "email"} <= set(view.scopes)
    assert view.webhook_url == "http://127.0.0.1:9190/webhooks/mavio"


async def _line_matching(stream: asyncio.StreamReader, pattern: str, seen: list[str]) -> None:
    while True:
        line = (await stream.readline()).decode()
        if not line:
            raise AssertionError("demo exited early:\n" + "".join(seen))
        seen.append(line)
        if re.search(pattern, line):
            return


async def _start_demo(env: dict[str, str]) -> tuple[asyncio.subprocess.Process, str]:
    """``make demo``'s process, once it says it is ready, and everything it printed until then."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "examples.demo", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdout is not None
    seen: list[str] = []
    try:
        await asyncio.wait_for(_line_matching(proc.stdout, r"demo: Ctrl-C stops everything", seen), 100)
    except BaseException:
        proc.kill()
        await proc.wait()
        raise
    return proc, "".join(seen)


async def test_make_demo_starts_everything_and_says_what_to_open(tmp_path: Path) -> None:
    ports = {"MAVIO_HTTP_PORT": free_port(), "DEMO_APP_PORT": free_port(), "DEMO_API_PORT": free_port()}
    proc, printed = await _start_demo(_demo_env(tmp_path, **ports))
    try:
        app_url = f"http://127.0.0.1:{ports['DEMO_APP_PORT']}/"
        assert app_url in printed and "demo@mavio.example" in printed
        async with aiohttp.ClientSession() as http:
            async with http.get(app_url) as resp:
                assert resp.status == 200 and "Connect Mavio" in await resp.text()
            async with http.get(f"http://127.0.0.1:{ports['DEMO_API_PORT']}/meetings") as resp:
                assert resp.status == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
        proc.send_signal(signal.SIGTERM)
        rest = await asyncio.wait_for(proc.stdout.read(), 60)
        assert await proc.wait() == 0
        assert "demo: stopped" in rest.decode()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def _demo_env(tmp_path: Path, **ports: int) -> dict[str, str]:
    env = {**os.environ, **{k: str(v) for k, v in ports.items()}, "MAVIO_RUN_DIR": str(tmp_path),
           "MAVIO_LOG_LEVEL": "warning", "PYTHONUNBUFFERED": "1"}  # fmt: skip
    for name in ("MAVIO_NATS_URL", "MAVIO_REDIS_URL", "MAVIO_HTTP_PORT", "DEMO_APP_PORT", "DEMO_API_PORT"):
        if name not in ports:
            env.pop(name, None)
    return env


async def test_by_default_free_ports_every_url_printed_and_servers_that_want_passwords(
    tmp_path: Path,
) -> None:
    proc, printed = await _start_demo(_demo_env(tmp_path))
    try:
        urls = dict(re.findall(r"^  (Your App|Mavio|Meetings API|Connected apps) +(\S+)", printed, re.M))
        assert set(urls) == {"Your App", "Mavio", "Meetings API", "Connected apps"}, printed
        found = re.search(r"^demo: NATS (nats://\S+), Redis (redis://\S+): passwords required", printed, re.M)
        assert found, printed
        nats_url, redis_url = found.groups()
        async with aiohttp.ClientSession() as http:
            async with http.get(urls["Your App"]) as resp:
                assert resp.status == 200 and "Connect Mavio" in await resp.text()
            async with http.get(urls["Mavio"] + "readyz") as resp:
                assert resp.status == 200
            async with http.get(urls["Meetings API"]) as resp:
                assert resp.status == 401
        with pytest.raises(Exception, match=r"[Aa]uthorization"):  # no password, no bus
            await nats.connect(nats_url, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=2)
        anonymous = redis.asyncio.Redis.from_url(redis_url)
        try:
            with pytest.raises(redis.exceptions.AuthenticationError):
                await anonymous.get("anything")
        finally:
            await anonymous.aclose()
        proc.send_signal(signal.SIGTERM)
        rest = await asyncio.wait_for(proc.stdout.read(), 60)
        assert await proc.wait() == 0 and "demo: stopped" in rest.decode()
        assert list(tmp_path.iterdir()) == []  # a free port's data goes with the run
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@pytest.mark.parametrize("variable", ["DEMO_API_PORT", "DEMO_APP_PORT", "MAVIO_HTTP_PORT"])
async def test_a_taken_port_is_a_one_line_error_naming_it(tmp_path: Path, variable: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "examples.demo", cwd=ROOT, env=_demo_env(tmp_path, **{variable: port}),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1
    lines = err.decode().splitlines()  # the one line and nothing else (no library's warning before it)
    assert len(lines) == 1 and lines[0].startswith("demo: "), err.decode()
    assert f"port {port} ({variable}" in lines[0] and "already in use" in lines[0]
    assert not (tmp_path / str(port)).exists() and "demo: ready" not in out.decode()  # nothing started
