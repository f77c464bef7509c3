"""Developer webhooks (issue 26), the delivery side, on real nats-server and redis-server: events from
the audit stream and the test event reach a local receiver that verifies them with the
``standardwebhooks`` library; retries keep the ``webhook-id``; the log; Redeliver."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared.events import publish_event
from shared.messages.events import TokensRevoked
from shared.webhooks.client import WebhooksClient
from tests.support.factories import create_account, create_app
from tests.support.polling import eventually, until
from tests.support.system import System, start_system
from tests.support.webhooks import Receiver, attach_webhook

ENV = {"MAVIO_WEBHOOK_RETRY_SCHEDULE": "100ms,100ms", "MAVIO_WEBHOOK_TIMEOUT": "1"}


@pytest.fixture(scope="module")
async def hooks_system() -> AsyncIterator[System]:
    sut = await start_system(ENV, services=("registry", "webhooks"))
    yield sut
    await sut.close()


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


async def test_test_event_is_signed_and_logged(hooks_system: System, receiver: Receiver) -> None:
    client_id = await _app(hooks_system, receiver)
    client = WebhooksClient(hooks_system.bus)
    sent = await client.send_test(client_id)
    await until("the test event arrives", lambda: _count(receiver, 1))
    [got] = receiver.received
    assert got.payload is not None and got.payload["type"] == "webhook.test"
    assert got.id == sent.delivery.id
    log = await eventually(
        lambda: client.deliveries(client_id), lambda r: r.deliveries[0].status == "delivered"
    )
    assert log.deliveries[0].attempts == 1 and log.deliveries[0].last_status == "200"


async def test_retries_keep_the_id(hooks_system: System, receiver: Receiver) -> None:
    receiver.answers = [500, 500]
    client_id = await _app(hooks_system, receiver)
    client = WebhooksClient(hooks_system.bus)
    event = TokensRevoked(at=1.0, client_id=client_id, families=["f1"], user_id="u1", reason="user_revoked")
    await publish_event(hooks_system.nc, event)
    log = await eventually(
        lambda: client.deliveries(client_id),
        lambda r: bool(r.deliveries) and r.deliveries[0].status == "delivered",
    )
    assert log.deliveries[0].attempts == 3
    assert len(set(receiver.ids())) == 1 and len(receiver.ids()) == 3
    assert all(r.payload is not None for r in receiver.received)
    data = receiver.received[-1].payload["data"]  # type: ignore[index]
    assert data == {"grant": f"{client_id}:u1", "sub": "u1", "client_id": client_id, "reason": "user"}


async def _count(receiver: Receiver, n: int) -> bool:
    return len(receiver.received) >= n
