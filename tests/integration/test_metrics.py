"""Each service's own /metrics, found through ``$SRV.INFO``, moves with real requests; Redis errors and
recoveries are counted; the sweeper's lag and backlog follow its work list."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
import redis.exceptions
from prometheus_client.parser import text_string_to_metric_families

from services.cli.status import Replica, Status, gather
from services.stack.embedded import start_redis
from services.stack.supervisor import Supervisor, child_env
from shared import keys, subjects
from shared.config import load_settings
from shared.grants import keys as grant_keys
from shared.metrics import ServiceMetrics
from shared.metrics_server import PORT_SPAN
from shared.store import make_redis
from tests.support.system import Servers, System, start_system, unused_port
from tests.support.token_flow import exchange, new_party, refresh, seed_code, token_request, tokens_for

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
BASE_PORT = unused_port()
REPLICAS = {"authorize": 1, "token": 2, "registry": 1, "revocation": 1, "webhooks": 1}


@pytest.fixture(scope="module")
async def metered() -> AsyncIterator[System]:
    env = {
        "MAVIO_METRICS_PORT": str(BASE_PORT),
        "MAVIO_REFRESH_REPLAY_WINDOW": "0",  # a second use of a refresh token is a reuse at once
        "MAVIO_SWEEP_INTERVAL": "0.2",
    }
    system = await start_system(env)
    await system.start_service("token")  # a second replica
    yield system
    await system.close()


async def deadline_loop(what: str, probe: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not await probe():
        assert time.monotonic() < deadline, f"not within {timeout:.0f}s: {what}"
        await asyncio.sleep(0.1)


async def every_replica(system: System) -> Status:
    """Discovery until every replica of ``REPLICAS`` has answered PING, INFO and STATS."""
    found = Status([], [])

    async def complete() -> bool:
        nonlocal found
        found = await gather(system.nc, 1.0)
        counts = defaultdict(int)
        for r in found.replicas:
            counts[r.service] += r.requests is not None and "metrics_port" in r.metadata
        return all(counts[name] == n for name, n in REPLICAS.items())

    await deadline_loop("every replica answered discovery", complete)
    return found


async def scrape(replica: Replica) -> Samples:
    async with aiohttp.ClientSession() as http, http.get(replica.metrics_url) as resp:
        assert resp.status == 200, replica.metrics_url
        assert resp.headers["Content-Type"].startswith("text/plain")
        text = await resp.text()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def service_samples(system: System) -> dict[str, list[Samples]]:
    out: dict[str, list[Samples]] = defaultdict(list)
    for replica in (await every_replica(system)).replicas:
        out[replica.service].append(await scrape(replica))
    return out


def total(replicas: list[Samples], name: str, **labels: str) -> float:
    """Sum over replicas of every sample ``name`` whose labels include ``labels``."""
    want = set(labels.items())
    return sum(v for s in replicas for (n, ls), v in s.items() if n == name and want <= ls)


def present(replicas: list[Samples], name: str) -> bool:
    return all(any(n == name for n, _ in s) for s in replicas)


async def test_each_replica_announces_its_own_metrics_port(metered: System) -> None:
    status = await every_replica(metered)
    ports = [int(r.metadata["metrics_port"]) for r in status.replicas]
    assert len(ports) == sum(REPLICAS.values()) and len(set(ports)) == len(ports), ports
    assert all(BASE_PORT <= p < BASE_PORT + PORT_SPAN for p in ports), (BASE_PORT, ports)
    assert status.missing == []


async def test_request_and_token_counters_move_with_real_requests(metered: System) -> None:
    system = metered
    before = await service_samples(system)
    party = await new_party(system)
    first = await tokens_for(system, party)
    status, _, rotated = await refresh(system, party, first["refresh_token"])
    assert status == 200, rotated
    status, _, reused = await refresh(system, party, first["refresh_token"])
    assert (status, reused["error"]) == (400, "invalid_grant"), reused
    second = await tokens_for(system, party)
    form = {"token": second["refresh_token"], **party.post_auth()}
    status, _, _ = await token_request(system, form, path="/oauth/revoke")
    assert status == 200
    code = await seed_code(system, party)
    assert (await exchange(system, party, code))[0] == 200
    status, _, again = await exchange(system, party, code)
    assert (status, again["error"]) == (400, "invalid_grant"), again

    m = await service_samples(system)

    def moved(service: str, name: str, **labels: str) -> float:
        return total(m[service], name, **labels) - total(before[service], name, **labels)

    exchange_subject = subjects.TOKEN_EXCHANGE
    assert moved("token", "mavio_bus_requests_total", subject=exchange_subject, outcome="ok") == 4
    assert moved("token", "mavio_bus_requests_total", subject=exchange_subject, outcome="invalid_grant") == 2
    assert moved("token", "mavio_bus_request_seconds_count", subject=exchange_subject) == 6
    assert moved("token", "mavio_tokens_issued_total", grant_type="authorization_code") == 3
    assert moved("token", "mavio_tokens_issued_total", grant_type="refresh_token") == 1
    assert moved("token", "mavio_tokens_refreshed_total", result="rotated") == 1
    assert moved("token", "mavio_token_reuse_detected_total", kind="refresh") == 1
    assert moved("token", "mavio_token_reuse_detected_total", kind="code") == 1
    assert moved("token", "mavio_tokens_revoked_total", reason="refresh_reused") >= 1
    assert moved("token", "mavio_tokens_revoked_total", reason="code_reused") >= 2  # the code's pair
    # every client authentication of the six exchanges looked in the cache; a new app's first missed
    hits = moved("token", "mavio_cache_lookups_total", cache="client_auth", result="hit")
    misses = moved("token", "mavio_cache_lookups_total", cache="client_auth", result="miss")
    assert hits + misses == 6 and misses >= 1, (hits, misses)
    revoke = subjects.REVOCATION_REVOKE
    assert moved("revocation", "mavio_bus_requests_total", subject=revoke, outcome="ok") == 1
    assert moved("revocation", "mavio_tokens_revoked_total", reason="rfc7009") >= 2  # access + refresh
    for name, replicas in m.items():
        health = subjects.op(name, "health")
        assert total(replicas, "mavio_bus_requests_total", subject=health, outcome="ok") >= 1, name
        for metric in (
            "mavio_bus_reconnects_total",
            "mavio_redis_errors_total",
            "mavio_redis_reconnects_total",
        ):
            assert present(replicas, metric), (name, metric)
    revocation = m["revocation"]
    assert present(revocation, "mavio_sweeper_lag_seconds") and present(revocation, "mavio_sweeper_backlog")


async def test_verifications_are_counted_per_token_on_both_subjects(metered: System) -> None:
    """``mavio_tokens_verified_total``: one per token, alike on ``token.verify`` and in a
    ``token.verify_many`` message (whose bus request counter moves once per message)."""
    system = metered
    party = await new_party(system)
    live = [(await tokens_for(system, party))["access_token"] for _ in range(2)]
    before = await service_samples(system)
    for token in (*live, "mavio_at_x"):
        await system.nc.request(subjects.TOKEN_VERIFY, json.dumps({"token": token}).encode(), timeout=5)
    many = json.dumps({"tokens": [*live, "mavio_at_x"]}).encode()
    assert not (await system.nc.request(subjects.TOKEN_VERIFY_MANY, many, timeout=5)).headers
    after = await service_samples(system)

    def moved(name: str, **labels: str) -> float:
        return total(after["token"], name, **labels) - total(before["token"], name, **labels)

    assert moved("mavio_tokens_verified_total", result="active") == 4
    assert moved("mavio_tokens_verified_total", result="inactive") == 2
    assert moved("mavio_bus_requests_total", subject=subjects.TOKEN_VERIFY_MANY, outcome="ok") == 1
    assert moved("mavio_bus_requests_total", subject=subjects.TOKEN_VERIFY, outcome="ok") == 3


async def test_discovery_stats_count_requests_and_error_replies(metered: System) -> None:
    party = await new_party(metered)
    status, _, body = await token_request(
        metered, {"grant_type": "refresh_token", "refresh_token": "mavio_rt_nonsense", **party.post_auth()}
    )
    assert (status, body["error"]) == (400, "invalid_grant")
    found = await every_replica(metered)
    token = [r for r in found.replicas if r.service == "token"]
    assert sum(r.errors or 0 for r in token) >= 1
    assert all((r.requests or 0) >= (r.errors or 0) for r in found.replicas)


async def test_sweeper_gauges_follow_the_work_list(metered: System) -> None:
    system = metered
    lease = keys.sweep_lease()
    await system.redis.set(lease, "someone-else", px=120_000)  # no replica may sweep meanwhile
    member = grant_keys.expiry_member("mavio_client_gauge", "F" + "0" * 21, "u_gauge")
    due = {member: time.time() - 100}
    try:

        async def stuck() -> bool:
            # A pass that began before the lease was taken may still sweep the member once: add it again
            # then; no later pass can start while the lease is held elsewhere.
            await system.redis.zadd(grant_keys.expiry_queue(), due, nx=True)
            revocation = (await service_samples(system))["revocation"]
            return total(revocation, "mavio_sweeper_backlog") >= 1 and all(
                s[("mavio_sweeper_lag_seconds", frozenset())] >= 90 for s in revocation
            )

        await deadline_loop("backlog 1 and lag over 90 s while the lease is held elsewhere", stuck)
    finally:
        await system.redis.delete(lease)

    async def drained() -> bool:
        revocation = (await service_samples(system))["revocation"]
        return (
            total(revocation, "mavio_sweeper_backlog") == 0
            and total(revocation, "mavio_sweeper_lag_seconds") == 0
        )

    await deadline_loop("the sweeper emptied its work list", drained)
    assert await system.redis.zscore(grant_keys.expiry_queue(), member) is None


async def test_redis_errors_and_the_recovery_after_them_are_counted() -> None:
    with tempfile.TemporaryDirectory(prefix="mavio-redis-health-") as tmp:
        port = unused_port()
        server = start_redis(Path(tmp), port=port, persist=False)
        metrics = ServiceMetrics("probe")
        client = make_redis(load_settings({"MAVIO_REDIS_URL": server.url}), metrics.redis)
        reg = metrics.registry

        def value(name: str) -> float:
            return reg.get_sample_value(name, {"service": "probe"}) or 0.0

        try:
            assert await client.ping()
            assert (value("mavio_redis_errors_total"), value("mavio_redis_reconnects_total")) == (0, 0)
            server.stop()
            with pytest.raises(redis.exceptions.ConnectionError):
                await client.ping()
            assert value("mavio_redis_errors_total") >= 1 and metrics.redis.down
            server = start_redis(Path(tmp), port=port, persist=False)
            assert await client.ping()
            assert value("mavio_redis_reconnects_total") == 1 and not metrics.redis.down
        finally:
            await client.aclose()
            server.stop()


async def test_bus_and_redis_outages_are_counted_and_the_metrics_port_closes_with_the_service() -> None:
    system = await start_system(services=("registry",), gateway=False)
    try:
        found = await gather(system.nc, 1.0)
        (replica,) = [r for r in found.replicas if r.service == "registry"]
        labels = frozenset({("service", "registry")})
        before = await scrape(replica)
        assert before[("mavio_bus_reconnects_total", labels)] == 0
        port = system.servers.nats.port
        system.servers.nats.kill()
        system.servers.nats = system.servers.start_nats_at(Path(system.servers.tmp.name), port)

        async def reconnected() -> bool:
            now = await scrape(replica)
            return (
                now[("mavio_bus_disconnects_total", labels)] >= 1
                and now[("mavio_bus_reconnects_total", labels)] >= 1
            )

        await deadline_loop("the registry counted its bus reconnect", reconnected)

        async def harness_back() -> bool:
            return system.nc.is_connected

        await deadline_loop("the tests' own client reconnected", harness_back)

        async def health_then(name: str, least: float) -> bool:
            await system.nc.request(subjects.op("registry", "health"), b"{}", timeout=5)
            return (await scrape(replica))[(name, labels)] >= least

        assert (await scrape(replica))[("mavio_redis_errors_total", labels)] == 0
        root, redis_port = Path(system.servers.tmp.name), system.servers.redis.port
        system.servers.redis.kill()
        await deadline_loop("Redis errors counted", lambda: health_then("mavio_redis_errors_total", 1))
        system.servers.redis = start_redis(
            root / "redis", persist=False, port=redis_port, acl_file=root / "redis.acl"
        )
        await deadline_loop("Redis answered again", lambda: health_then("mavio_redis_reconnects_total", 1))
        await system.stop_service("registry")
        with pytest.raises(aiohttp.ClientConnectionError):
            await scrape(replica)
    finally:
        await system.close()


async def test_a_resource_servers_verification_cache_counts_hits_and_misses(metered: System) -> None:
    from prometheus_client import CollectorRegistry

    from shared.metrics import CacheCounters, cache_lookups
    from shared.verify_client import TokenVerifier

    party = await new_party(metered)
    access = (await tokens_for(metered, party))["access_token"]
    registry = CollectorRegistry()
    verifier = TokenVerifier(
        metered.nc, cache_ttl=30, counters=CacheCounters(cache_lookups(registry), "verify")
    )
    await verifier.start()
    try:
        for _ in range(3):
            assert (await verifier.verify(access)).active
    finally:
        await verifier.close()

    def count(result: str) -> float | None:
        return registry.get_sample_value("mavio_cache_lookups_total", {"cache": "verify", "result": result})

    assert (count("miss"), count("hit")) == (1, 2)


async def test_replica_processes_on_one_host_take_ports_from_the_base() -> None:
    servers = Servers.start()
    base = unused_port()
    env = child_env(
        {
            "MAVIO_NATS_URL": servers.nats.url,
            "MAVIO_REDIS_URL": servers.redis.url,
            "MAVIO_LOG_LEVEL": "warning",
            "MAVIO_METRICS_PORT": str(base),
        }
    )
    sup = Supervisor(env, identities=servers.identities())
    for i in (1, 2):
        sup.spawn(f"registry-{i}", "services.registry")
    nc = await servers.connect()
    try:
        found = Status([], [])

        async def both() -> bool:
            nonlocal found
            found = await gather(nc, 1.0)
            return sum(r.service == "registry" and "metrics_port" in r.metadata for r in found.replicas) == 2

        await deadline_loop("two registry processes answered discovery", both, timeout=60)
        ports = sorted(int(r.metadata["metrics_port"]) for r in found.replicas)
        assert len(set(ports)) == 2 and all(base <= p < base + PORT_SPAN for p in ports), (base, ports)
        for replica in found.replicas:
            samples = await scrape(replica)
            health = frozenset({("service", "registry"), ("subject", subjects.op("registry", "health"))})
            assert ("mavio_bus_request_seconds_count", health) in samples
    finally:
        await nc.drain()
        sup.stop_all()
        servers.stop()
