"""Developer webhooks (issue 26) lose no delivery to faults: between two attempts of a delivery the
webhooks service is killed with kill -9 and a NATS node of three is restarted; meanwhile an audit event
for the app is written. Once a webhooks replica is back, the retried delivery arrives with its same
``webhook-id`` and the event written while it was away arrives too, each verified by the
``standardwebhooks`` library, and the log shows both delivered."""

from __future__ import annotations

import asyncio

import pytest

from shared.events import publish_event
from shared.messages.events import TokensRevoked
from shared.messages.webhooks import ListDeliveriesReply
from shared.webhooks.client import WebhooksClient
from tests.support.factories import create_account, create_app
from tests.support.fleet import running_fleet
from tests.support.nats_cluster import wait_jetstream
from tests.support.polling import eventually, until
from tests.support.system import HARNESS
from tests.support.webhooks import Receiver, attach_webhook

pytestmark = [pytest.mark.fault, pytest.mark.timeout(300)]

ENV = {
    "MAVIO_AUDIT_REPLICAS": "3",
    "MAVIO_WEBHOOK_RETRY_SCHEDULE": "4s,4s,4s,4s,4s,4s",
    "MAVIO_WEBHOOK_TIMEOUT": "2",
}


async def test_kill_9_of_the_webhooks_service_and_a_nats_node_restart_lose_no_delivery() -> None:
    async with running_fleet({"token": 1}, ENV, nats_cluster=True) as fleet:
        system = fleet.system
        cluster = system.servers.nats_cluster
        assert cluster is not None
        receiver = await Receiver(status=500).start()
        try:
            owner = await create_account(system)
            app, _ = await create_app(system, owner)
            receiver.secret = await attach_webhook(system, app.client_id, receiver.url)
            client = WebhooksClient(system.bus)
            sent = await client.send_test(app.client_id)

            async def log() -> ListDeliveriesReply:
                return await client.deliveries(app.client_id)

            await eventually(log, lambda r: r.deliveries[0].attempts == 1, timeout=30)  # waiting its retry
            [victim] = fleet.replicas("webhooks")
            await fleet.kill(victim)
            revoked = TokensRevoked(
                at=1.0,
                client_id=app.client_id,
                families=[],
                user_id="u-1",
                reason="user_revoked",
                grant_ended=True,
            )
            await publish_event(system.nc, revoked)  # written while no webhooks replica runs
            await asyncio.to_thread(cluster.restart, 0)
            await wait_jetstream(
                cluster.urls, user=HARNESS, password=system.servers.credentials.admins[HARNESS]
            )
            receiver.status = 200
            fleet.spawn("webhooks")
            await fleet.wait_new_instance("webhooks")

            def both_delivered(reply: ListDeliveriesReply) -> bool:
                return len(reply.deliveries) == 2 and all(d.status == "delivered" for d in reply.deliveries)

            final = await eventually(log, both_delivered, timeout=90)
            await until("both arrived", lambda: _both(receiver, sent.delivery.id))
            ids = receiver.ids()
            assert ids.count(sent.delivery.id) >= 2 and len(set(ids)) == 2, ids
            assert all(r.payload is not None for r in receiver.received)
            kinds = {r.payload["type"] for r in receiver.received if r.payload}
            assert kinds == {"webhook.test", "authorization.revoked"}
            by_id = {d.id: d for d in final.deliveries}
            assert by_id[sent.delivery.id].attempts >= 2
        finally:
            await receiver.close()


async def _both(receiver: Receiver, first: str) -> bool:
    return len(set(receiver.ids())) == 2 and first in receiver.ids()
