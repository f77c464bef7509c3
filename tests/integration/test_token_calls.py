"""``token.calls`` on the real bus, as a resource server's bus user: the calls a verifier answered from
its cache count only for apps that exist, every key it writes keeps a TTL, and a report cannot set an
app's statistics (too many apps or too many calls for one: refused whole, ``invalid_request``)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import AsyncIterator

import nats
import pytest
from nats.aio.client import Client as NATS

from shared import bus_auth, subjects
from shared.bus import Bus
from shared.errors import InvalidRequest
from shared.grants import keys as grant_keys
from shared.messages.token import MAX_CALLS_PER_APP, ReportCallsRequest
from shared.verify_client import TokenVerifier
from tests.support.factories import create_account, create_app
from tests.support.polling import eventually
from tests.support.system import System
from tests.support.token_flow import api_calls


@pytest.fixture
async def resource(system: System) -> AsyncIterator[NATS]:
    """A resource server's connection: bus user ``resource``, as ``make run`` hands it out."""
    env = system.servers.env("resource")
    nc = await nats.connect(
        system.servers.nats.url,
        user=env["MAVIO_NATS_USER"],
        password=env["MAVIO_NATS_PASSWORD"],
        inbox_prefix=bus_auth.inbox_prefix("resource"),
    )
    yield nc
    await nc.close()


async def report(nc: NATS, calls: dict[str, int]) -> dict[str, object]:
    return await Bus(nc, timeout=5).request(subjects.TOKEN_CALLS, ReportCallsRequest(calls=calls), dict)


async def new_app(system: System) -> str:
    app, _ = await create_app(system, await create_account(system))
    return app.client_id


def unknown_id() -> str:
    return "mavio_client_" + secrets.token_hex(8)


async def keys_of(system: System, client_id: str) -> list[bytes]:
    """Every key in the app's slot (``{a:<client_id>}``) but its record and logo."""
    found = [k async for k in system.redis.scan_iter(match=f"*{{a:{client_id}}}*", count=1000)]
    return [k for k in found if not k.endswith((b":app", b":logo"))]


def today() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%d")


async def test_an_unknown_app_id_writes_no_key(system: System, resource: NATS) -> None:
    known, unknown = await new_app(system), unknown_id()
    assert await report(resource, {unknown: 5, known: 2}) == {}
    # Both were flushed together: once the known app's count is in, the unknown one was refused.
    await eventually(lambda: api_calls(system, known), lambda n: n == 2)
    assert await keys_of(system, unknown) == []


async def test_every_key_a_report_writes_has_a_ttl(system: System, resource: NATS) -> None:
    client_id = await new_app(system)
    assert await report(resource, {client_id: 7}) == {}
    await eventually(lambda: api_calls(system, client_id), lambda n: n == 7)
    written = await keys_of(system, client_id)
    assert sorted(written) == sorted(
        k.encode()
        for k in (grant_keys.app_calls_total(client_id), grant_keys.app_calls_day(client_id, today()))
    )
    for key in written:
        assert 0 < await system.redis.ttl(key) <= grant_keys.CALLS_TOTAL_TTL, key


async def test_an_oversized_report_is_refused_whole(system: System, resource: NATS) -> None:
    refused_app, counted_app = await new_app(system), await new_app(system)
    limit = system.settings.calls_report_max
    oversized = {refused_app: 1, **{unknown_id(): 1 for _ in range(limit)}}
    with pytest.raises(InvalidRequest, match=f"at most {limit} apps"):
        await report(resource, oversized)
    assert await report(resource, {counted_app: 1}) == {}
    await eventually(lambda: api_calls(system, counted_app), lambda n: n == 1)
    assert await api_calls(system, refused_app) == 0


@pytest.mark.parametrize("count", [10_000_000, MAX_CALLS_PER_APP + 1, 0, -5])
async def test_a_report_cannot_set_an_apps_total(system: System, resource: NATS, count: int) -> None:
    client_id = await new_app(system)
    with pytest.raises(InvalidRequest, match="calls per app"):
        await report(resource, {client_id: count, unknown_id(): 1})
    assert await report(resource, {client_id: 3}) == {}
    await eventually(lambda: api_calls(system, client_id), lambda n: n == 3)


async def test_the_verifier_splits_its_hits_into_reports_the_service_takes(
    system: System, resource: NATS
) -> None:
    """More apps than a report may name, and more hits of one app than a report may count: every hit
    is still counted, over several reports (``close`` sends what is left)."""
    apps = [await new_app(system) for _ in range(3)]
    verifier = TokenVerifier(resource, cache_ttl=30, report_interval=3600, report_max_apps=2)
    await verifier.start()
    hits = {apps[0]: MAX_CALLS_PER_APP + 5, apps[1]: 1, apps[2]: 2}
    verifier._hits = dict(hits)  # as if the cache had answered that often
    await verifier.close()
    for client_id, n in hits.items():
        await eventually(lambda c=client_id: api_calls(system, c), lambda total, n=n: total == n)
