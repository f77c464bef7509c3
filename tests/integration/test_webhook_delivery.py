"""Developer webhooks (issue 26), the delivery side, on real nats-server and redis-server: the test event
and audit events reach a local receiver that verifies them with the ``standardwebhooks`` library;
retries keep the ``webhook-id``; failed deliveries, Redeliver, redirects, the in-flight limit per app,
the 5-day disabling (injected clock) and Enable; the signing secret never in Redis, a log or an event."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator

import msgspec
import pytest

from shared.events import publish_event, read_audit
from shared.logging import configure_logging
from shared.messages.events import AppDeleted, TokensRevoked
from shared.messages.webhooks import ListDeliveriesReply
from shared.webhooks.client import WebhooksClient
from tests.support.factories import create_account, create_app
from tests.support.polling import eventually, until
from tests.support.system import System, start_system
from tests.support.token_flow import redis_dump
from tests.support.webhooks import FakeClock, Receiver, attach_webhook, start_webhooks

ENV = {"MAVIO_WEBHOOK_RETRY_SCHEDULE": "100ms,100ms", "MAVIO_WEBHOOK_TIMEOUT": "0.5"}
FIVE_DAYS = 5 * 86_400


@pytest.fixture(scope="module")
async def hooks_system() -> AsyncIterator[System]:
    sut = await start_system(ENV, services=("registry",), gateway=False)
    yield sut
    await sut.close()


@pytest.fixture
async def sut(hooks_system: System) -> AsyncIterator[System]:
    """The module's system; each test starts the webhooks service it needs, stopped afterwards."""
    yield hooks_system
    await hooks_system.stop_service("webhooks")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.close()


async def _app(system: System, receiver: Receiver) -> str:
    owner = await create_account(system)
    app, _ = await create_app(system, owner)
    receiver.secret = await attach_webhook(system, app.client_id, receiver.url)
    return app.client_id


async def _settled(system: System, client_id: str, status: str, n: int = 1) -> ListDeliveriesReply:
    """The log once its newest ``n`` deliveries have ``status``."""

    def done(reply: ListDeliveriesReply) -> bool:
        return len(reply.deliveries) >= n and all(d.status == status for d in reply.deliveries[:n])

    return await eventually(lambda: WebhooksClient(system.bus).deliveries(client_id), done)


async def test_test_event_is_signed_and_logged(sut: System, receiver: Receiver) -> None:
    await start_webhooks(sut)
    client_id = await _app(sut, receiver)
    sent = await WebhooksClient(sut.bus).send_test(client_id)
    assert sent.delivery.status == "pending" and sent.delivery.type == "webhook.test"
    log = await _settled(sut, client_id, "delivered")
    [got] = receiver.received
    assert got.payload is not None and got.payload["type"] == "webhook.test"
    assert got.payload["data"] == {"client_id": client_id}
    assert got.id == sent.delivery.id and got.id.startswith("msg_")
    assert (log.deliveries[0].attempts, log.deliveries[0].last_status) == (1, "200")
    assert log.endpoint.enabled and log.endpoint.failing_since == 0


async def test_retries_keep_the_id(sut: System, receiver: Receiver) -> None:
    await start_webhooks(sut)
    receiver.answers = [500, 500]
    client_id = await _app(sut, receiver)
    event = TokensRevoked(
        at=1.0, client_id=client_id, families=["f1"], user_id="u1", reason="user_revoked", grant_ended=True
    )
    await publish_event(sut.nc, event)
    log = await _settled(sut, client_id, "delivered")
    assert log.deliveries[0].attempts == 3 and log.deliveries[0].type == "authorization.revoked"
    assert len(receiver.ids()) == 3 and len(set(receiver.ids())) == 1
    assert all(r.payload is not None for r in receiver.received)  # each attempt signed for its timestamp
    data = receiver.received[-1].payload["data"]  # type: ignore[index]
    assert data == {"grant": f"{client_id}:u1", "sub": "u1", "client_id": client_id, "reason": "user"}


async def test_a_receiver_that_never_answers_ends_failed_and_redeliver_sends_it_again(
    sut: System, receiver: Receiver
) -> None:
    await start_webhooks(sut)
    receiver.hang = True
    client_id = await _app(sut, receiver)
    client = WebhooksClient(sut.bus)
    sent = await client.send_test(client_id)
    log = await _settled(sut, client_id, "failed")
    assert (log.deliveries[0].attempts, log.deliveries[0].last_status) == (3, "timeout")
    assert receiver.ids() == [sent.delivery.id] * 3
    receiver.hang = False
    again = await client.redeliver(client_id, sent.delivery.id)
    assert again.delivery.id == sent.delivery.id and again.delivery.status == "pending"
    log = await _settled(sut, client_id, "delivered")
    assert log.deliveries[0].attempts == 4 and len(log.deliveries) == 1
    assert receiver.ids() == [sent.delivery.id] * 4 and receiver.received[-1].payload is not None


async def test_redeliver_is_refused_for_an_unknown_or_unfinished_delivery(
    sut: System, receiver: Receiver
) -> None:
    from shared.errors import InvalidRequest, NotFound

    await start_webhooks(sut)
    receiver.gate = asyncio.Event()
    client_id = await _app(sut, receiver)
    client = WebhooksClient(sut.bus)
    with pytest.raises(NotFound):
        await client.redeliver(client_id, "msg_unknown")
    sent = await client.send_test(client_id)
    with pytest.raises(InvalidRequest):
        await client.redeliver(client_id, sent.delivery.id)  # still pending
    receiver.gate.set()
    await _settled(sut, client_id, "delivered")


async def test_redirects_are_not_followed_and_only_a_kib_of_the_body_is_kept(
    sut: System, receiver: Receiver
) -> None:
    await start_webhooks(sut)
    receiver.answers = [307, 307, 307]
    receiver.location = receiver.url  # followed, it would arrive here again
    client_id = await _app(sut, receiver)
    await WebhooksClient(sut.bus).send_test(client_id)
    log = await _settled(sut, client_id, "failed")
    assert log.deliveries[0].last_status == "307" and len(receiver.received) == 3
    kept = log.deliveries[0].last_response
    assert kept.startswith("nope ") and len(kept.encode()) <= 1024  # the receiver sent 2,500 bytes


async def test_one_slow_receiver_holds_at_most_the_in_flight_limit(sut: System, receiver: Receiver) -> None:
    # An attempt outlasting the test: the held ones neither time out nor are retried meanwhile.
    await start_webhooks(sut, webhook_max_in_flight=2, webhook_timeout=60.0)
    receiver.gate = asyncio.Event()
    client_id = await _app(sut, receiver)
    client = WebhooksClient(sut.bus)
    for _ in range(5):
        await client.send_test(client_id)
    await until("two deliveries in flight", lambda: _is(lambda: receiver.in_flight == 2))
    other = await Receiver().start()  # another app's endpoint is not held up meanwhile
    try:
        other_id = await _app(sut, other)
        await client.send_test(other_id)
        await _settled(sut, other_id, "delivered")
    finally:
        await other.close()
    assert len(receiver.received) == 2
    receiver.gate.set()
    await _settled(sut, client_id, "delivered", n=5)
    assert receiver.most_in_flight == 2 and len(set(receiver.ids())) == 5


async def test_an_endpoint_failing_for_five_days_is_disabled_until_enabled(
    sut: System, receiver: Receiver
) -> None:
    clock = FakeClock()
    await start_webhooks(sut, clock=clock)
    receiver.status = 500
    client_id = await _app(sut, receiver)
    client = WebhooksClient(sut.bus)
    await client.send_test(client_id)
    log = await _settled(sut, client_id, "failed")
    assert log.endpoint.enabled and log.endpoint.failing_since == int(clock.now)
    clock.advance(FIVE_DAYS - 60)  # not yet five days: still enabled after three more failures
    await client.send_test(client_id)
    log = await _settled(sut, client_id, "failed", n=2)
    assert log.endpoint.enabled and len(receiver.received) == 6
    clock.advance(60)  # five days of failures: this attempt disables the endpoint
    await client.send_test(client_id)
    log = await _settled(sut, client_id, "failed", n=3)
    assert not log.endpoint.enabled and log.endpoint.disabled_at == int(clock.now)
    assert log.deliveries[0].last_status == "endpoint disabled" and log.deliveries[0].attempts == 1
    assert len(receiver.received) == 7
    last = await client.send_test(client_id)  # while disabled: logged as failed, never sent
    log = await _settled(sut, client_id, "failed", n=4)
    assert log.deliveries[0].id == last.delivery.id and log.deliveries[0].attempts == 0
    assert len(receiver.received) == 7
    enabled = await client.enable(client_id)
    assert enabled.endpoint.enabled and enabled.endpoint.disabled_at == 0
    receiver.status = 200
    await client.redeliver(client_id, last.delivery.id)
    log = await _settled(sut, client_id, "delivered")
    assert log.deliveries[0].id == last.delivery.id and log.endpoint.failing_since == 0
    assert receiver.ids()[-1] == last.delivery.id
    assert all(r.payload is not None for r in receiver.received)  # signed at the wall clock's time


async def test_the_signing_secret_is_never_in_redis_a_log_or_an_event(
    sut: System, receiver: Receiver
) -> None:
    await start_webhooks(sut)
    receiver.answers = [500]
    client_id = await _app(sut, receiver)
    buffer = io.StringIO()
    configure_logging(json=True, level="debug", stream=buffer, cache=False)
    try:
        await WebhooksClient(sut.bus).send_test(client_id)
        event = TokensRevoked(at=1.0, client_id=client_id, families=[], reason="app_revoke_all", users=["u2"])
        await publish_event(sut.nc, event)
        await _settled(sut, client_id, "delivered", n=2)
    finally:
        configure_logging(json=False, level="warning", cache=False)
    assert all(r.payload is not None for r in receiver.received)
    assert '"webhook attempt"' in buffer.getvalue()  # the attempts were logged
    raw_key = receiver.secret.removeprefix("whsec_")
    for needle in (receiver.secret, raw_key):
        assert needle.encode() not in await redis_dump(sut)
        assert needle not in buffer.getvalue()
        trail = [msgspec.json.encode(e) async for _, e in read_audit(sut.nc, client_id)]
        assert trail and all(needle.encode() not in t for t in trail)


async def _is(check: object) -> bool:
    return bool(check())  # type: ignore[operator]


REFUSED_HOSTS = [
    ("127.0.0.1", "loopback"),
    ("localhost", "loopback"),
    ("10.1.2.3", "private"),
    ("169.254.169.254", "cloud metadata"),
    ("[::1]", "loopback"),
    ("[::ffff:127.0.0.1]", "loopback (IPv4 inside IPv6)"),
    ("loopback.example", "loopback"),  # a name the resolver maps to 127.0.0.1
    ("rebound.example", "private"),  # a public address and a private one: refused
]


async def _resolve(host: str, port: int) -> list[str]:
    """The injected DNS: there is no public DNS here."""
    table = {
        "loopback.example": ["127.0.0.1"],
        "rebound.example": ["93.184.215.14", "192.168.1.10"],
        "localhost": ["127.0.0.1", "::1"],
    }
    return table.get(host, [])


async def test_in_production_only_public_addresses_are_connected_to(sut: System, receiver: Receiver) -> None:
    """The SSRF rule at delivery time, on the addresses the connection would use: every URL points at the
    receiver's port, which would answer 200 if the connection were made."""
    await start_webhooks(sut, resolve=_resolve, env="production")
    port = receiver.url.split(":")[2].split("/")[0]
    client = WebhooksClient(sut.bus)
    apps = {}
    for host, why in REFUSED_HOSTS:
        client_id = await _app(sut, receiver)
        await attach_webhook(sut, client_id, f"http://{host}:{port}/hooks", receiver.secret)
        await client.send_test(client_id)
        apps[client_id] = (host, why)
    for client_id, (host, why) in apps.items():
        log = await _settled(sut, client_id, "failed")
        last = log.deliveries[0].last_status
        assert last.startswith("address refused") and f"a {why} address" in last, (host, last)
    assert receiver.received == []


async def test_an_app_deleted_takes_its_delivery_log_along(sut: System, receiver: Receiver) -> None:
    await start_webhooks(sut)
    client_id = await _app(sut, receiver)
    await WebhooksClient(sut.bus).send_test(client_id)
    await _settled(sut, client_id, "delivered")
    await publish_event(sut.nc, AppDeleted(at=1.0, client_id=client_id))
    await eventually(lambda: WebhooksClient(sut.bus).deliveries(client_id), lambda r: r.deliveries == [])
    assert [k async for k in sut.redis.scan_iter(match=f"mavio:{{w:{client_id}}}:*")] == []


async def test_retries_waiting_for_a_dead_endpoint_hold_up_no_other_app(
    sut: System, receiver: Receiver
) -> None:
    """More deliveries waiting for their retry than the queue's consumer hands out unacknowledged
    (``webhook_max_ack_pending``): another app's new event is still delivered, well before any retry."""
    await start_webhooks(sut, webhook_max_ack_pending=3, webhook_retry_schedule=(600.0,))
    receiver.status = 500
    dead_id = await _app(sut, receiver)
    client = WebhooksClient(sut.bus)
    for _ in range(6):
        await client.send_test(dead_id)
    await until("six first attempts made", lambda: _is(lambda: len(receiver.received) == 6))
    waiting = await _settled(sut, dead_id, "pending", n=6)
    assert all(d.attempts == 1 and d.last_status == "500" for d in waiting.deliveries)
    other = await Receiver().start()
    try:
        other_id = await _app(sut, other)
        sent = await client.send_test(other_id)
        await _settled(sut, other_id, "delivered")
        assert other.ids() == [sent.delivery.id]
    finally:
        await other.close()
    assert len(receiver.received) == 6  # the dead endpoint's retries are still waiting


@pytest.mark.parametrize("url", ["not a url", "ftp://files.example/hooks", "http://127.0.0.1:1/closed"])
async def test_an_unusable_url_ends_failed_with_its_reason(sut: System, receiver: Receiver, url: str) -> None:
    await start_webhooks(sut)
    client_id = await _app(sut, receiver)
    await attach_webhook(sut, client_id, url, receiver.secret)
    await WebhooksClient(sut.bus).send_test(client_id)
    log = await _settled(sut, client_id, "failed")
    assert log.deliveries[0].attempts == 3
    assert log.deliveries[0].last_status.startswith(("request failed", "connection failed")), log


async def test_the_delivery_log_and_slots_work_on_a_redis_cluster(receiver: Receiver) -> None:
    """Every key of an app's webhooks shares its slot (``{w:<client_id>}``): the scripts run on a Cluster."""
    cluster = await start_system(ENV, services=("registry",), gateway=False, redis_cluster=True)
    try:
        await start_webhooks(cluster, webhook_max_in_flight=1)
        receiver.answers = [500]
        client_id = await _app(cluster, receiver)
        client = WebhooksClient(cluster.bus)
        for _ in range(3):
            await client.send_test(client_id)
        log = await _settled(cluster, client_id, "delivered", n=3)
        assert sorted(d.attempts for d in log.deliveries) == [1, 1, 2] and receiver.most_in_flight == 1
        await publish_event(cluster.nc, AppDeleted(at=1.0, client_id=client_id))
        await eventually(lambda: client.deliveries(client_id), lambda r: r.deliveries == [])
    finally:
        await cluster.close()
