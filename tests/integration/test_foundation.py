"""Foundation: gateway -> NATS -> service -> Redis and back; queue groups; readiness; errors."""

from __future__ import annotations

import asyncio
import collections
from pathlib import Path

import msgspec
import pytest

from shared import subjects
from shared.bus import ERROR_CODE_HEADER
from shared.errors import InvalidRequest, TemporarilyUnavailable
from shared.lifecycle import HealthReply, HealthRequest
from tests.support.system import System, running_system


async def test_readyz_routes_through_every_service_and_redis(system: System) -> None:
    async with system.http.get(system.url("/readyz")) as resp:
        body = await resp.json()
    assert resp.status == 200, body
    assert body["checks"] == {
        "nats": True,
        "redis": True,
        "authorize": True,
        "token": True,
        "registry": True,
        "revocation": True,
        "webhooks": True,
    }
    async with system.http.get(system.url("/healthz")) as resp:
        assert resp.status == 200


async def test_health_round_trip_reaches_redis_through_the_service(system: System) -> None:
    reply = await system.bus.request(subjects.op("registry", "health"), HealthRequest(), HealthReply)
    assert reply.service == "registry" and reply.redis is True


async def test_two_replicas_share_requests_through_the_queue_group() -> None:
    async with running_system(services=("registry",), gateway=False) as sut:
        await sut.start_service("registry")  # a second replica
        seen = collections.Counter[str]()
        for _ in range(200):
            reply = await sut.bus.request(subjects.op("registry", "health"), HealthRequest(), HealthReply)
            seen[reply.instance] += 1
        assert len(seen) == 2, seen
        assert min(seen.values()) >= 20, seen


async def test_a_stopped_service_shows_up_in_readyz() -> None:
    async with running_system() as sut:
        await sut.stop_service("token")
        async with sut.http.get(sut.url("/readyz")) as resp:
            body = await resp.json()
        assert resp.status == 503
        assert body["down"] == ["token"]
        assert body["checks"]["registry"] is True


async def test_malformed_bus_request_gets_invalid_request_envelope(system: System) -> None:
    msg = await system.nc.request(subjects.op("registry", "health"), b"{not json", timeout=2)
    assert msg.headers and msg.headers[ERROR_CODE_HEADER] == "400"
    assert msgspec.json.decode(msg.data)["error"] == InvalidRequest.error


async def test_no_responders_becomes_temporarily_unavailable(system: System) -> None:
    with pytest.raises(TemporarilyUnavailable) as exc:
        await system.bus.request("mavio.oauth.v1.nobody.home", HealthRequest(), HealthReply, timeout=1)
    assert "nobody" in exc.value.description


async def test_unknown_path_is_404_json_or_html(system: System) -> None:
    async with system.http.get(system.url("/nope"), headers={"Accept": "application/json"}) as resp:
        assert resp.status == 404
        assert (await resp.json())["error"] == "not_found"
    async with system.http.get(system.url("/nope"), headers={"Accept": "text/html"}) as resp:
        assert resp.status == 404
        assert "text/html" in resp.headers["Content-Type"]
        assert "Not found" in await resp.text()


async def test_metrics_are_exposed(system: System) -> None:
    async with system.http.get(system.url("/healthz")):
        pass
    async with system.http.get(system.url("/metrics")) as resp:
        text = await resp.text()
    assert resp.status == 200
    assert "mavio_http_requests_total" in text


def _counted(text: str, labels: str) -> float:
    """The value of ``mavio_http_requests_total{<labels>}`` in a Prometheus text page (0 if absent)."""
    for line in text.splitlines():
        if line.startswith(f"mavio_http_requests_total{{{labels}}} "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_every_request_is_counted_by_route_method_and_status(system: System) -> None:
    labels = 'method="GET",route="unmatched",status="404"'
    ok = 'method="GET",route="/healthz",status="200"'
    async with system.http.get(system.url("/metrics")) as resp:
        before = await resp.text()
    for _ in range(3):
        async with system.http.get(system.url("/healthz")):
            pass
        async with system.http.get(system.url("/nope"), headers={"Accept": "application/json"}):
            pass
    async with system.http.get(system.url("/metrics")) as resp:
        after = await resp.text()
    assert _counted(after, ok) - _counted(before, ok) == 3
    assert _counted(after, labels) - _counted(before, labels) == 3
    assert 'mavio_http_request_seconds_count{route="/healthz"}' in after


async def test_each_response_carries_a_request_id_unique_unless_the_client_sent_one(system: System) -> None:
    seen = set()
    for _ in range(20):
        async with system.http.get(system.url("/healthz")) as resp:
            seen.add(resp.headers["X-Request-Id"])
    assert len(seen) == 20 and all(len(rid) == 32 and int(rid, 16) >= 0 for rid in seen)
    async with system.http.get(system.url("/healthz"), headers={"X-Request-Id": "r" * 100}) as resp:
        assert resp.headers["X-Request-Id"] == "r" * 64  # the caller's id, capped


async def test_service_survives_redis_outage_with_clear_error() -> None:
    async with running_system(services=("registry",), gateway=False) as sut:
        sut.servers.redis.kill()
        reply = await asyncio.wait_for(
            sut.bus.request(subjects.op("registry", "health"), HealthRequest(), HealthReply), 10
        )
        assert reply.redis is False  # answered, not crashed


async def test_service_reconnects_after_nats_restarts() -> None:
    async with running_system(services=("registry",), gateway=False) as sut:
        port = sut.servers.nats.port
        sut.servers.nats.kill()
        sut.servers.nats = sut.servers.start_nats_at(Path(sut.servers.tmp.name), port=port)
        deadline = asyncio.get_running_loop().time() + 20
        while True:
            try:
                reply = await sut.bus.request(
                    subjects.op("registry", "health"), HealthRequest(), HealthReply, timeout=1
                )
                break
            except TemporarilyUnavailable:
                assert asyncio.get_running_loop().time() < deadline, "service did not come back"
                await asyncio.sleep(0.2)
        assert reply.redis is True
