"""The same flows on a real Redis Cluster (three masters): every multi-key operation must stay in
one hash slot (``shared.keys``), and the services must work with ``MAVIO_REDIS_CLUSTER=true``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio

from shared import subjects
from shared.grants import keys as grant_keys
from shared.messages.revocation import (
    PlanChangedReply,
    PlanChangedRequest,
    RevokeAppReply,
    RevokeAppRequest,
)
from shared.tokens import SECRET_PATTERN
from tests.e2e.test_full_flow import authlib_flow
from tests.support.factories import create_account, create_app
from tests.support.oidc import oidc_party, save_oidc_code, validated
from tests.support.polling import eventually
from tests.support.system import System, start_system
from tests.support.token_flow import (
    Party,
    api_calls,
    bus_verify,
    consent_code,
    exchange,
    new_party,
    redis_dump,
    refresh,
    token_request,
)


@pytest.fixture(scope="module")
async def cluster_system() -> AsyncIterator[System]:
    env = {"MAVIO_REFRESH_TOKEN_TTL": "3", "MAVIO_SWEEP_INTERVAL": "0.2"}
    sut = await start_system(env, redis_cluster=True)
    yield sut
    await sut.close()


async def test_the_cluster_is_really_a_cluster(cluster_system: System) -> None:
    info = await cluster_system.redis.cluster_info()
    assert info["cluster_state"] == "ok" and int(info["cluster_known_nodes"]) == 3


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
async def test_full_flow_with_authlib_on_a_cluster(cluster_system: System, auth_method: str) -> None:
    party = await new_party(cluster_system)
    await authlib_flow(cluster_system, party, auth_method=auth_method, pkce=True)
    assert await cluster_system.redis.hlen(grant_keys.app_grant_users(party.client_id)) == 1
    assert await eventually(lambda: api_calls(cluster_system, party.client_id), lambda n: n >= 2)


async def test_reuse_detection_and_rfc7009_on_a_cluster(cluster_system: System) -> None:
    sut = cluster_system
    party = await new_party(sut)
    code = await consent_code(sut, party)
    status, _, pair = await exchange(sut, party, code)
    assert status == 200, pair
    status, _, body = await exchange(sut, party, code)  # code reuse revokes the family
    assert (status, body["error"]) == (400, "invalid_grant")
    assert (await bus_verify(sut, pair["access_token"]))["active"] is False

    status, _, pair = await exchange(sut, party, await consent_code(sut, party))
    status, _, rotated = await refresh(sut, party, pair["refresh_token"])
    assert status == 200, rotated
    form = {"token": rotated["refresh_token"], **party.post_auth()}
    status, _, _ = await token_request(sut, form, path="/oauth/revoke")
    assert status == 200
    assert (await bus_verify(sut, rotated["access_token"]))["active"] is False


async def test_revoke_all_and_plan_narrowing_on_a_cluster(cluster_system: System) -> None:
    sut = cluster_system
    owner = await create_account(sut, name="Developer")
    app, secret = await create_app(sut, owner, scopes=("meetings:read", "meetings:write"))
    user = await create_account(sut, plan="pro")
    party = Party(app, secret, user, owner)
    _, _, first = await exchange(
        sut, party, await consent_code(sut, party, scope="meetings:read meetings:write")
    )
    reply = await sut.bus.request(
        subjects.REVOCATION_PLAN_CHANGED, PlanChangedRequest(user_id=user.id, plan="free"), PlanChangedReply
    )
    assert reply.grants_narrowed == 1
    assert (await bus_verify(sut, first["access_token"]))["scope"] == "meetings:read"
    revoked = await sut.bus.request(
        subjects.REVOCATION_REVOKE_APP,
        RevokeAppRequest(client_id=app.client_id, reason="app_revoke_all"),
        RevokeAppReply,
    )
    assert revoked.families_revoked == 1
    assert (await bus_verify(sut, first["access_token"]))["active"] is False
    assert await sut.redis.hlen(grant_keys.app_grant_users(app.client_id)) == 0


async def test_no_usable_secret_at_rest_on_a_cluster(cluster_system: System) -> None:
    party = await new_party(cluster_system)
    await authlib_flow(cluster_system, party, auth_method="client_secret_post", pkce=False)
    dump = await redis_dump(cluster_system)
    records: list[set[bytes]] = []  # app and account records: never expire, never deleted here
    for node in cluster_system.servers.cluster:
        async with redis.asyncio.Redis.from_url(node.url, **cluster_system.servers.redis_auth()) as plain:
            found = {k async for k in plain.scan_iter(count=1000) if k.endswith((b":app", b":account"))}
        assert found, f"no records on {node.url}: the slots are not spread"
        records.append(found)
    scanned = {key async for key in cluster_system.redis.scan_iter(count=1000)}
    assert set().union(*records) <= scanned  # the dump's scan reads every node
    assert SECRET_PATTERN.search(dump.decode("latin-1")) is None


async def test_the_sweeper_uncounts_expired_grants_on_a_cluster(cluster_system: System) -> None:
    sut = cluster_system
    party = await new_party(sut)
    status, _, _ = await exchange(sut, party, await consent_code(sut, party))
    assert status == 200
    assert await sut.redis.hlen(grant_keys.app_grant_users(party.client_id)) == 1
    # The refresh token lives 3 s; the sweeper (every 0.2 s) must then uncount the grant.
    remaining = await eventually(
        lambda: sut.redis.hlen(grant_keys.app_grant_users(party.client_id)), lambda n: n == 0, timeout=10
    )
    assert remaining == 0
    assert await sut.redis.zcard(grant_keys.app_families(party.client_id)) == 0


async def test_id_tokens_on_a_cluster_keep_the_sign_in_through_a_refresh(cluster_system: System) -> None:
    """On a cluster a code is consumed and its pair issued in two steps: the family keeps its OpenID
    Connect session there too, and the signing key set works on a cluster's single key."""
    sut = cluster_system
    party = await oidc_party(sut, alg="ES256")
    code = await save_oidc_code(sut, party, nonce="cluster-nonce", auth_time=1_700_000_000, sid="sid-c")
    status, _, token = await exchange(sut, party, code)
    assert status == 200, token
    first = await validated(sut, party, token, nonce="cluster-nonce")
    assert (first["auth_time"], first["sid"]) == (1_700_000_000, "sid-c")
    status, _, renewed = await refresh(sut, party, token["refresh_token"])
    assert status == 200, renewed
    second = await validated(sut, party, renewed)
    assert (second["auth_time"], second["sid"], "nonce" in second) == (1_700_000_000, "sid-c", False)
