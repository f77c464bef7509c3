"""``mavio-oauth status`` through the CLI's ``main``, as the ``cli`` bus user, against a real bus."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from services.cli.main import main
from shared import subjects
from tests.support.system import System, start_system, unused_port

TOKEN_REPLICAS = 2


@pytest.fixture(scope="module")
async def replicated() -> AsyncIterator[System]:
    system = await start_system(gateway=False)
    await system.start_service("token")
    yield system
    await system.close()


async def status(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], env: dict[str, str]
) -> tuple[int, str, str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    rc = await asyncio.to_thread(main, ["status", "--wait", "1.5"])
    out, err = capsys.readouterr()
    return rc, out, err


def rows(out: str) -> list[list[str]]:
    lines = out.strip().splitlines()
    assert lines[0].split() == ["SERVICE", "REPLICA", "VERSION", "REQUESTS", "ERRORS", "METRICS"], out
    return [line.split() for line in lines[1:-1]]


async def test_status_lists_every_service_with_its_replicas_and_counts(
    replicated: System, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    want = {name: 1 for name in subjects.SERVICES} | {"token": TOKEN_REPLICAS}
    for _ in range(20):  # health requests, so every replica has counted something
        await replicated.nc.request(subjects.op("token", "health"), b"{}", timeout=5)
    deadline = time.monotonic() + 30
    while True:
        rc, out, err = await status(monkeypatch, capsys, replicated.servers.env("cli"))
        table = rows(out) if rc == 0 else []
        if Counter(r[0] for r in table) == Counter(want) or time.monotonic() > deadline:
            break
    assert rc == 0, (out, err)
    assert Counter(r[0] for r in table) == Counter(want), out
    assert out.strip().splitlines()[-1] == f"{len(want)} services, {sum(want.values())} replicas answering"
    for _service, replica, version, requests, errors, metrics in table:
        assert version == "0.1.0" and replica.isalnum(), out
        assert int(requests) >= 1 and 0 <= int(errors) <= int(requests), out
        assert metrics.startswith("http://127.0.0.1:") and metrics.endswith("/metrics"), out
    token_requests = sum(int(r[3]) for r in table if r[0] == "token")
    assert token_requests >= 20
    assert len({r[5] for r in table}) == len(table)  # one metrics port per replica


async def test_status_names_a_service_without_replicas_and_exits_1(
    replicated: System, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    await replicated.stop_service("authorize")
    rc, out, err = await status(monkeypatch, capsys, replicated.servers.env("cli"))
    assert rc == 1
    assert ["authorize", "-", "-", "-", "-", "no", "replica", "answering"] in rows(out), out
    assert "not answering: authorize" in out
    assert err.strip() == "mavio-oauth: error: no replica of authorize answered"


async def test_status_says_so_when_the_bus_is_unreachable(
    replicated: System, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"nats://127.0.0.1:{unused_port()}"
    rc, out, err = await status(monkeypatch, capsys, {**replicated.servers.env("cli"), "MAVIO_NATS_URL": url})
    assert (rc, out) == (1, "")
    assert err.strip() == f"mavio-oauth: error: cannot reach NATS at {url}"


async def test_status_lists_the_gateway_processes_too(
    system: System, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each gateway joins the bus's service discovery (``services.gateway.announce``): one row, its
    /metrics on the HTTP port, counted apart from the services in the summary."""
    rc, out, err = await status(monkeypatch, capsys, system.servers.env("cli"))
    assert rc == 0, (out, err)
    gateways = [r for r in rows(out) if r[0] == "gateway"]
    assert len(gateways) == 1, out
    [[_, replica, version, requests, errors, metrics]] = gateways
    assert replica.isalnum() and version == "0.1.0" and (requests, errors) == ("-", "-")
    assert metrics == system.url("/metrics")
    async with system.http.get(metrics) as resp:
        assert resp.status == 200
    n = len(subjects.SERVICES)
    assert out.strip().splitlines()[-1] == f"{n} services, {n} replicas answering, 1 gateway"
