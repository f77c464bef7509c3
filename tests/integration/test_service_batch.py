"""Batch routes of ``shared.service`` (``shared.service_batch``) on a real nats-server: each item runs as a
single request of its route (its answer, its error envelope, its log lines with its own request id, its
count in the route's metrics and ``$SRV.STATS``), a failing item fails only itself, a slow one is answered
``temporarily_unavailable`` at the batch's ``wait_ms`` (and still finishes, counted), and a malformed or
oversized batch is ``invalid_request`` as a whole, never a server error."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import msgspec
import pytest

from shared.bus import ERROR_CODE_HEADER, ERROR_HEADER, Bus
from shared.errors import InvalidGrant
from shared.logging import configure_logging
from shared.messages.batch import MAX_ITEMS, BatchItem, BatchReply, BatchRequest
from shared.service import Meta, Route, ServiceRunner, batch_route
from shared.subjects import REQUEST_ID_HEADER
from tests.support.polling import eventually
from tests.support.system import start_system

SINGLE = "test.batching.echo"
MANY = "test.batching.echo_many"


class Echo(msgspec.Struct, frozen=True, kw_only=True):
    text: str


@dataclass
class Probe:
    """A service whose ``echo`` upper-cases, refuses ``fail``, breaks on ``boom`` and waits on ``slow``."""

    runner: ServiceRunner
    bus: Bus
    release: asyncio.Event

    def count(self, subject: str, outcome: str) -> float:
        labels = {"service": "probe", "subject": subject, "outcome": outcome}
        return self.runner.metrics.registry.get_sample_value("mavio_bus_requests_total", labels) or 0.0

    async def stats(self) -> dict[str, dict[str, Any]]:
        """``$SRV.STATS`` of the probe service, by endpoint subject."""
        msg = await self.bus.nc.request("$SRV.STATS.probe", b"", timeout=5)
        return {e["subject"]: e for e in json.loads(msg.data)["endpoints"]}


@pytest.fixture(scope="module")
async def probe() -> AsyncIterator[Probe]:
    sut = await start_system(services=(), gateway=False)
    release = asyncio.Event()

    async def echo(req: Echo, meta: Meta) -> Echo:
        if req.text == "fail":
            raise InvalidGrant("refused", debug="private detail")
        if req.text == "boom":
            raise RuntimeError("broken")
        if req.text == "slow":
            await release.wait()
        return Echo(text=req.text.upper())

    single = Route("echo", SINGLE, Echo, echo)
    runner = ServiceRunner(await sut.servers.connect(), name="probe", version="1.0.0")
    await runner.start([single, batch_route("echo_many", MANY, single)])
    yield Probe(runner, Bus(sut.nc, timeout=5), release)
    release.set()
    await runner.drain(timeout=5)
    await sut.close()


def batch(*texts: str, wait_ms: int = 3000) -> BatchRequest[Echo]:
    items = [BatchItem(request_id=f"rid-{i}", request=Echo(text=t)) for i, t in enumerate(texts)]
    return BatchRequest(items=items, wait_ms=wait_ms)


async def test_each_item_gets_its_own_answer_and_a_slow_one_is_bounded(probe: Probe) -> None:
    reply = await probe.bus.request(
        MANY, batch("a", "fail", "boom", "slow", "b", wait_ms=300), BatchReply[Echo]
    )
    answers = [
        (o.reply, o.status, o.error and (o.error.error, o.error.error_description)) for o in reply.items
    ]
    assert answers == [
        (Echo(text="A"), 200, None),
        (None, 400, ("invalid_grant", "refused")),
        (None, 500, ("server_error", "unexpected error (request id rid-2)")),
        (None, 503, ("temporarily_unavailable", "the probe service did not answer in time")),
        (Echo(text="B"), 200, None),
    ]
    assert reply.items[1].error is not None and reply.items[1].error.kind == "InvalidGrant"
    before = probe.count(SINGLE, "ok")
    probe.release.set()  # the slow item still finishes, counted as a single request would be
    await eventually(lambda: asyncio.sleep(0, probe.count(SINGLE, "ok")), lambda n: n == before + 1)


async def test_items_count_as_single_requests_and_the_message_as_one_batch(probe: Probe) -> None:
    before = await probe.stats()
    ok, refused = probe.count(SINGLE, "ok"), probe.count(SINGLE, "invalid_grant")
    await probe.bus.request(MANY, batch("a", "fail", "b"), BatchReply[Echo])
    await probe.bus.request(SINGLE, Echo(text="c"), Echo)
    with pytest.raises(InvalidGrant):
        await probe.bus.request(SINGLE, Echo(text="fail"), Echo)
    after = await probe.stats()
    assert after[SINGLE]["num_requests"] - before[SINGLE]["num_requests"] == 5
    assert after[SINGLE]["num_errors"] - before[SINGLE]["num_errors"] == 2
    assert after[MANY]["num_requests"] - before[MANY]["num_requests"] == 1
    assert after[MANY]["num_errors"] == before[MANY]["num_errors"]
    assert (probe.count(SINGLE, "ok") - ok, probe.count(SINGLE, "invalid_grant") - refused) == (3, 2)


@pytest.fixture
def json_logs() -> Any:
    out = io.StringIO()
    configure_logging(json=True, level="debug", stream=out, cache=False)
    try:
        yield lambda: [json.loads(line) for line in out.getvalue().splitlines()]
    finally:
        configure_logging(json=False, level="warning", cache=False)


async def test_an_item_logs_what_the_same_single_request_logs(probe: Probe, json_logs: Any) -> None:
    with pytest.raises(InvalidGrant):
        await probe.bus.request(SINGLE, Echo(text="fail"), Echo, request_id="one-alone")
    await probe.bus.request(SINGLE, Echo(text="a"), Echo, request_id="one-alone-ok")
    await probe.bus.request(MANY, batch("fail", "a"), BatchReply[Echo], request_id="the-batch")

    def lines(request_id: str) -> list[tuple[str, str, str, str | None, str | None]]:
        return [
            (e["event"], e["level"], e["op"], e.get("error"), e.get("debug"))
            for e in json_logs()
            if e.get("request_id") == request_id
        ]

    assert (
        lines("rid-0")
        == lines("one-alone")
        == [
            ("request refused", "info", "echo", "invalid_grant", "private detail"),
            ("handled", "debug", "echo", None, None),
        ]
    )
    assert lines("rid-1") == lines("one-alone-ok") == [("handled", "debug", "echo", None, None)]
    assert lines("the-batch") == []  # the message itself is quiet: its items are the requests


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b'{"items": [], "wait_ms": 100}',
        b'{"items": {"text": "a"}, "wait_ms": 100}',
        b'{"items": [{"request_id": "r", "request": {"text": "a"}}], "wait_ms": 0}',
        b'{"items": [{"request_id": "r", "request": {"text": "a"}}]}',
        b'{"items": [{"request_id": "r", "request": {"txt": "a"}}], "wait_ms": 100}',
        msgspec.json.encode(batch(*["a"] * (MAX_ITEMS + 1))),
        msgspec.json.encode(
            BatchRequest(items=[BatchItem(request_id="r" * 129, request=Echo(text="a"))], wait_ms=9)
        ),
    ],
)
async def test_a_malformed_or_oversized_batch_is_invalid_request_as_a_whole(
    probe: Probe, payload: bytes
) -> None:
    msg = await probe.bus.nc.request(MANY, payload, timeout=5)
    assert msg.headers is not None
    assert (msg.headers[ERROR_HEADER], msg.headers[ERROR_CODE_HEADER]) == ("invalid_request", "400")
    assert REQUEST_ID_HEADER not in msg.headers
