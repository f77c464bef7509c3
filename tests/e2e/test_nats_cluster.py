"""The full OAuth flow on a real 3-node NATS cluster with JetStream (``tests.support.nats_cluster``):
every process gets the three URLs and lands on whichever node it picks, so requests, replies and events
cross routes; the audit stream ``MAVIO_AUDIT`` has three replicas (``MAVIO_AUDIT_REPLICAS=3``, the
production setting), and the operator reads an app's trail from it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import nats
import pytest

from shared.events import AUDIT_STREAM
from shared.verify_client import TokenVerifier
from tests.e2e.test_audit_trail import audit
from tests.e2e.test_full_flow import authlib_flow
from tests.support.polling import eventually
from tests.support.system import System, start_system
from tests.support.token_flow import bus_verify, new_party, token_request


@pytest.fixture(scope="module")
async def nats_cluster_system() -> AsyncIterator[System]:
    sut = await start_system({"MAVIO_AUDIT_REPLICAS": "3"}, nats_cluster=True)
    yield sut
    await sut.close()


async def test_the_bus_is_really_a_three_node_cluster(nats_cluster_system: System) -> None:
    cluster = nats_cluster_system.servers.nats_cluster
    assert cluster is not None and len(cluster.nodes) == 3
    info = await nats_cluster_system.nc.jetstream().stream_info(AUDIT_STREAM)
    assert info.config.num_replicas == 3
    assert info.cluster is not None and info.cluster.leader
    peers = {info.cluster.leader, *(r.name for r in info.cluster.replicas or [])}
    assert peers == {"n1", "n2", "n3"}


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
async def test_the_full_flow_on_a_nats_cluster(nats_cluster_system: System, auth_method: str) -> None:
    """authorize -> consent -> code -> token -> verify -> refresh -> verify (Authlib), then RFC 7009
    revocation, verification from a resource server on each node, and the app's audit trail."""
    sut = nats_cluster_system
    party = await new_party(sut)
    renewed = await authlib_flow(sut, party, auth_method=auth_method, pkce=True)
    cluster = sut.servers.nats_cluster
    assert cluster is not None
    resource = sut.servers.credentials.env("resource")
    for url in cluster.urls:  # a resource server on each node reaches the token service through routes
        nc = await nats.connect(
            url, user="resource", password=resource["MAVIO_NATS_PASSWORD"], inbox_prefix="_INBOX.resource"
        )
        try:
            info = await TokenVerifier(nc, timeout=5).verify(renewed["access_token"])
            assert info.active is True and info.sub == party.user.id, url
        finally:
            await nc.close()

    form = {"token": renewed["refresh_token"], **party.post_auth()}
    status, _, body = await token_request(sut, form, path="/oauth/revoke")
    assert (status, body) == (200, {})
    assert (await bus_verify(sut, renewed["access_token"])) == {"active": False}

    trail = await eventually(
        lambda: audit(sut, party.client_id),
        lambda rows: ["tokens.revoked", "actor=client"] in [row[:2] for row in rows],
        timeout=20,
    )
    assert trail[0][0] == "app.created"  # written by the registry, read back through another node


async def test_events_cross_the_cluster_to_a_cache_on_another_node(nats_cluster_system: System) -> None:
    """A caching resource server on each node drops a revoked token at once (the event crossed routes)."""
    sut = nats_cluster_system
    party = await new_party(sut)
    pair = await authlib_flow(sut, party, auth_method="client_secret_basic", pkce=False)
    cluster = sut.servers.nats_cluster
    assert cluster is not None
    password = sut.servers.credentials.env("resource")["MAVIO_NATS_PASSWORD"]
    verifiers = []
    for url in cluster.urls:
        nc = await nats.connect(url, user="resource", password=password, inbox_prefix="_INBOX.resource")
        verifier = TokenVerifier(nc, cache_ttl=60, timeout=5)
        await verifier.start()
        assert (await verifier.verify(pair["access_token"])).active is True
        verifiers.append((nc, verifier))
    try:
        form = {"token": pair["access_token"], **party.post_auth()}
        assert (await token_request(sut, form, path="/oauth/revoke"))[0] == 200
        for _, verifier in verifiers:
            await eventually(lambda v=verifier: _len(v), lambda n: n == 0, timeout=10)
            assert (await verifier.verify(pair["access_token"])).active is False
    finally:
        for nc, verifier in verifiers:
            await verifier.close()
            await nc.close()


async def _len(verifier: TokenVerifier) -> int:
    return len(verifier)
