"""Redis (append-only file on) stopped and started again under load: while it is away every request
gets a clear 503 ``temporarily_unavailable`` (never a 500, and never ``{"active": false}`` for a good
token: a resource server must not reject it); once it is back, the apps, accounts, grants and tokens
issued before work as they did, every refresh-token chain continues, and nothing was lost or minted
twice."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.faults.scenario import CLEAR_503, WORKERS, under_load
from tests.support.factories import new_http, sign_in
from tests.support.fleet import Fleet, running_fleet
from tests.support.load import Load
from tests.support.token_flow import Party, bus_verify, consent_code, exchange, new_party

pytestmark = [pytest.mark.fault, pytest.mark.timeout(300)]  # a fleet starting on a loaded machine


async def remembered_code(fleet: Fleet, party: Party) -> str:
    """A new authorization request (no ``prompt``) for the scopes already granted: the remembered grant
    gives a code at once, without the consent page."""
    query = {
        "response_type": "code",
        "client_id": party.client_id,
        "redirect_uri": party.redirect_uri,
        "scope": "meetings:read users:read",
        "state": "after-restart",
    }
    async with new_http() as http:
        await sign_in(fleet.system, http, party.user.email)
        url = fleet.system.url("/oauth/authorize?" + urlencode(query))
        async with http.get(url, allow_redirects=False) as resp:
            assert resp.status == 302, (resp.status, (await resp.text())[:300])
            location = resp.headers["Location"]
    return parse_qs(urlsplit(location).query)["code"][0]


async def outage_seen(load: Load, since: float, timeout: float = 30.0) -> None:
    """Until both kinds of request have failed since ``since`` (the outage reached every path)."""
    deadline = time.monotonic() + timeout
    while {o.kind for o in load.failures(since)} != {"verify", "refresh"}:
        assert time.monotonic() < deadline, f"no failures while Redis was down: {load.failures(since)[:3]}"
        await asyncio.sleep(0.05)


async def test_redis_restarted_with_aof_keeps_everything_issued_before() -> None:
    async with running_fleet({"token": 2}, redis_persist=True) as fleet:
        servers = fleet.system.servers
        party = await new_party(fleet.system)
        status, _, granted = await exchange(fleet.system, party, await consent_code(fleet.system, party))
        assert status == 200, granted
        loads: list[Load] = []

        async def restart() -> None:
            stopped = time.monotonic()
            await asyncio.to_thread(servers.redis.stop)  # SIGTERM: Redis finishes its append-only file
            await outage_seen(loads[0], stopped)
            await asyncio.to_thread(servers.restart_redis)

        result = await under_load(
            fleet, "Redis stopped and restarted (AOF on)", restart, party=party, loads=loads
        )
        report = result.report
        assert set(report.errors) <= CLEAR_503, report.line() + "\n" + fleet.unexpected_errors()
        assert sum(report.errors.values()) <= 10 * WORKERS, report.line()  # a short outage, 0.2 s pauses
        assert report.recovery - report.fault_length < 20, report.line()  # back within a few seconds
        result.assert_invariants()

        for chain in result.chains:  # the first pair of every chain was issued before the restart
            assert (await bus_verify(fleet.system, chain.access_tokens[0]))["active"] is True
        assert (await bus_verify(fleet.system, granted["access_token"]))["active"] is True
        status, _, pair = await exchange(fleet.system, party, await remembered_code(fleet, party))
        assert status == 200, pair
