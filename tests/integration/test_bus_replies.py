"""Replies go only to an inbox, on a real nats-server: a requester naming a reply subject outside every
known bus user's inbox (``$JS.API…``, the audit subjects, ``events.>``) gets no answer and makes no
service publish there, with nats.micro's ``$SRV`` answers included. nats-server's ``allow_responses``
would let the service publish there with its own rights, so this filter is what holds."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from nats.aio.msg import Msg
from prometheus_client.parser import text_string_to_metric_families

from services.cli.status import gather
from shared import subjects
from shared.events import AUDIT_STREAM, audit_subject, read_audit
from tests.support.bus_users import connect_as
from tests.support.factories import create_account, create_app
from tests.support.polling import until
from tests.support.system import System, running_system

REFUSED = "mavio_bus_replies_refused_total"


@pytest.fixture(scope="module")
async def sut() -> AsyncIterator[System]:
    async with running_system() as system:
        yield system


async def refused(system: System) -> dict[str, float]:
    """``mavio_bus_replies_refused_total`` of every replica, by service (scraped from its /metrics)."""
    out: dict[str, float] = {}
    async with aiohttp.ClientSession() as http:
        for replica in (await gather(system.nc, 0.5)).replicas:
            if replica.metrics_url == "-":
                continue
            async with http.get(replica.metrics_url) as resp:
                text = await resp.text()
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    if sample.name == REFUSED:
                        out[replica.service] = out.get(replica.service, 0.0) + sample.value
    return out


async def trail_size(system: System, client_id: str) -> int:
    info = await system.nc.jetstream().stream_info(AUDIT_STREAM, subjects_filter=audit_subject(client_id))
    return (info.state.subjects or {}).get(audit_subject(client_id), 0)


class Observer:
    """The harness watching the subjects an attack would write to."""

    def __init__(self) -> None:
        self.seen: list[Msg] = []

    async def record(self, msg: Msg) -> None:
        self.seen.append(msg)


async def test_a_resource_server_cannot_have_a_service_answer_outside_an_inbox(sut: System) -> None:
    owner = await create_account(sut)
    app, _ = await create_app(sut, owner)  # its creation is the first record of its trail
    before = await trail_size(sut, app.client_id)
    assert before >= 1
    observer = Observer()
    for watched in (subjects.EVENTS_ALL, f"{subjects.PREFIX}.audit.>"):
        await sut.nc.subscribe(watched, cb=observer.record)
    await sut.nc.flush()
    start = (await refused(sut)).get("token", 0.0)
    attacks = [
        f"$JS.API.STREAM.PURGE.{AUDIT_STREAM}",
        f"$JS.API.STREAM.DELETE.{AUDIT_STREAM}",
        audit_subject(app.client_id),
        subjects.EVENT_APP_DELETED,
        subjects.EVENT_TOKENS_REVOKED,
    ]
    resource = await connect_as(sut, "resource")
    try:
        for reply in attacks:
            await resource.publish(subjects.TOKEN_CALLS, b'{"calls":{}}', reply=reply)
            await resource.publish(subjects.TOKEN_VERIFY, b'{"token":"mavio_at_x"}', reply=reply)
        await resource.flush()

        async def all_dropped() -> bool:
            return (await refused(sut)).get("token", 0.0) - start >= 2 * len(attacks)

        await until("the token service dropped every attack", all_dropped, timeout=20)
        await sut.nc.flush()
        assert observer.seen == []
        assert await trail_size(sut, app.client_id) == before  # neither purged, deleted nor junk added
        kinds = [type(event).__name__ async for _, event in read_audit(sut.nc, app.client_id)]
        assert kinds[0] == "AppCreated"
        # a request with the resource server's own inbox is still answered
        answer = await resource.request(subjects.TOKEN_VERIFY, b'{"token":"mavio_at_x"}', timeout=5)
        assert b'"active":false' in answer.data
    finally:
        await resource.close()


async def test_discovery_answers_go_only_to_an_inbox(sut: System) -> None:
    """nats.micro answers ``$SRV.PING/INFO/STATS`` itself; a PING whose reply names the audit stream's
    purge must purge nothing (every service drops it)."""
    owner = await create_account(sut)
    app, _ = await create_app(sut, owner)
    before = await trail_size(sut, app.client_id)
    start = await refused(sut)
    cli = await connect_as(sut, "cli")
    try:
        for verb in ("PING", "INFO", "STATS"):
            await cli.publish(f"$SRV.{verb}", b"", reply=f"$JS.API.STREAM.PURGE.{AUDIT_STREAM}")
        await cli.flush()

        async def every_service_dropped() -> bool:
            now = await refused(sut)
            return all(now.get(s, 0.0) - start.get(s, 0.0) >= 3 for s in subjects.SERVICES)

        await until("every service dropped the discovery requests", every_service_dropped, timeout=20)
        assert await trail_size(sut, app.client_id) == before
        answers = await gather(cli, 0.5)  # discovery to the operator's own inbox still works
        assert {r.service for r in answers.replicas} >= set(subjects.SERVICES)
    finally:
        await cli.close()
