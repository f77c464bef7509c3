"""Bus and store authentication on real servers: no credentials, nothing; each user only its subjects.

The test system's servers are configured as in production (``shared.bus_auth``, ``shared.redis_acl``);
every other test already runs the whole system through them with each service as its own user.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import nats
import nats.errors
import pytest
import redis.asyncio as aioredis
import redis.exceptions
from nats.aio.client import Client as NATS

from shared import bus_auth, keys, redis_acl, subjects
from shared.bus import Bus
from shared.events import publish_event
from shared.messages.events import ScopesNarrowed
from shared.messages.registry import ListAppsRequest
from shared.messages.token import Introspection, VerifyTokenRequest
from shared.tokens import mint, new_family_id
from shared.verify_client import TokenVerifier
from tests.support.bus_users import connect_as
from tests.support.factories import create_account, create_app
from tests.support.polling import eventually
from tests.support.system import System, running_system
from tests.support.token_flow import consent_code, exchange, new_party

DEPLOY_CONF = Path(__file__).resolve().parents[2] / "deploy" / "nats.conf"


# Two resource services, each its own bus user (``MAVIO_RESOURCE_BUS_USERS``).
RESOURCE_USERS = ("resource", "meetings")


@pytest.fixture(scope="module")
async def sut() -> AsyncIterator[System]:
    async with running_system({"MAVIO_RESOURCE_BUS_USERS": ",".join(RESOURCE_USERS)}) as system:
        yield system


async def list_apps_as(nc: NATS, user_id: str) -> bytes:
    payload = msgspec.json.encode(ListAppsRequest(user_id=user_id))
    return (await nc.request(subjects.REGISTRY_OWNER, payload, timeout=1)).data


@pytest.mark.parametrize(
    "credentials", [{}, {"user": "registry", "password": "wrong"}, {"user": "nobody", "password": "x"}]
)
async def test_a_client_without_valid_credentials_cannot_connect(
    sut: System, credentials: dict[str, str]
) -> None:
    with pytest.raises((nats.errors.Error, OSError)) as refused:
        await nats.connect(
            sut.servers.nats.url,
            allow_reconnect=False,
            max_reconnect_attempts=0,
            connect_timeout=2,
            **credentials,
        )
    assert "authorization" in str(refused.value).lower() or isinstance(
        refused.value, nats.errors.NoServersError
    )


async def test_a_resource_server_verifies_tokens_and_can_do_nothing_else(sut: System) -> None:
    owner = await create_account(sut)
    await create_app(sut, owner)
    errors: list[str] = []
    nc = await connect_as(sut, "resource", errors)
    try:
        reply = await Bus(nc, timeout=5).request(
            subjects.TOKEN_VERIFY, VerifyTokenRequest(token="mavio_at_bogus"), Introspection
        )
        assert reply.active is False
        with pytest.raises(nats.errors.Error):  # refused by the server: no answer ever comes
            await list_apps_as(nc, owner.id)

        async def reported() -> list[str]:
            return errors

        await eventually(
            reported, lambda found: any("permissions violation for publish" in e.lower() for e in found)
        )
        assert any("permissions violation for publish" in e.lower() for e in errors), errors
    finally:
        await nc.close()


async def test_the_gateway_cannot_rotate_the_signing_keys(sut: System) -> None:
    """Only the operator (bus user ``cli``) may ask ``token.keys.rotate``: a gateway's request is refused
    by the server and the key set stays as it was."""
    before = await sut.redis.get(keys.signing_keys())
    errors: list[str] = []
    nc = await connect_as(sut, "gateway", errors)
    try:
        with pytest.raises(nats.errors.Error):
            await nc.request(subjects.TOKEN_KEYS_ROTATE, b"{}", timeout=1)

        async def reported() -> list[str]:
            return errors

        await eventually(
            reported, lambda found: any("permissions violation for publish" in e.lower() for e in found)
        )
    finally:
        await nc.close()
    assert before is not None and await sut.redis.get(keys.signing_keys()) == before


async def test_shared_verify_client_works_as_the_resource_user(sut: System) -> None:
    party = await new_party(sut)
    status, _, pair = await exchange(sut, party, await consent_code(sut, party))
    assert status == 200, pair
    errors: list[str] = []
    nc = await connect_as(sut, "resource", errors)
    verifier = TokenVerifier(nc, cache_ttl=30)
    try:
        await verifier.start()
        assert (await verifier.verify(pair["access_token"])).active is True
        assert (await verifier.verify(pair["access_token"])).active is True  # from the cache
        batched = TokenVerifier(nc)  # concurrent misses go out as one ``token.verify_many`` message
        answers = await asyncio.gather(
            *(
                batched.verify(t)
                for t in (pair["access_token"], mint("at", new_family_id()), mint("at", new_family_id()))
            )
        )
        assert [a.active for a in answers] == [True, False, False]
        await nc.flush()
        assert errors == []
    finally:
        await verifier.close()
        await nc.close()


async def watch(nc: NATS, subjects_: tuple[str, ...], seen: list[str]) -> None:
    async def record(msg: nats.aio.msg.Msg) -> None:
        seen.append(msg.subject)

    for subject in subjects_:
        await nc.subscribe(subject, cb=record)
    await nc.flush()


async def test_the_webhooks_jetstream_user_forges_nothing_and_only_it_pulls_webhook_jobs(sut: System) -> None:
    """The webhooks service calls arbitrary URLs: its JetStream user may not write the audit trail or
    revocation's commands (the server refuses, nothing is stored); ``audit`` (token, registry,
    revocation) may not pull webhook jobs, which the webhooks user may."""
    pull = "$JS.API.CONSUMER.MSG.NEXT.MAVIO_WEBHOOKS.webhooks"
    trail = (await sut.nc.jetstream().stream_info("MAVIO_AUDIT")).state.messages
    errors: list[str] = []
    hooks = await connect_as(sut, bus_auth.WEBHOOKS_JS_USER, errors)
    try:
        for forged in (f"{subjects.PREFIX}.audit.app.created", f"{subjects.PREFIX}.commands.revoke"):
            with pytest.raises(nats.errors.Error):  # refused: no stream acknowledges it
                await hooks.jetstream().publish(forged, b"{}", timeout=1)
        info = await hooks.request("$JS.API.CONSUMER.INFO.MAVIO_WEBHOOKS.webhooks", b"", timeout=2)
        assert b'"name":"webhooks"' in info.data  # its own consumer: allowed
    finally:
        await hooks.close()
    assert sum("permissions violation for publish" in e.lower() for e in errors) == 2, errors
    assert (await sut.nc.jetstream().stream_info("MAVIO_AUDIT")).state.messages == trail
    refused: list[str] = []
    audit = await connect_as(sut, bus_auth.AUDIT_USER, refused)
    try:
        with pytest.raises(nats.errors.Error):
            await audit.request(pull, b'{"batch": 1, "no_wait": true}', timeout=1)
    finally:
        await audit.close()
    assert any("permissions violation for publish" in e.lower() for e in refused), refused


async def violations(errors: list[str], expected: int) -> list[str]:
    """The subscription violations the server reported, once it has reported ``expected`` of them."""
    deadline = asyncio.get_running_loop().time() + 5
    found: list[str] = []
    while len(found) < expected and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.02)
        found = [e for e in errors if "permissions violation for subscription" in e.lower()]
    return found


async def test_each_resource_service_reads_only_its_own_replies(sut: System) -> None:
    """Two resource services are two bus users: neither can subscribe to the other's ``_INBOX.<user>``
    (nor to every inbox), and each one's verifications are answered to itself only."""
    errors: dict[str, list[str]] = {user: [] for user in RESOURCE_USERS}
    ncs = {user: await connect_as(sut, user, errors[user]) for user in RESOURCE_USERS}
    seen: dict[str, list[str]] = {user: [] for user in RESOURCE_USERS}
    try:
        for user, other in (RESOURCE_USERS, RESOURCE_USERS[::-1]):
            await watch(ncs[user], (f"{bus_auth.inbox_prefix(other)}.>", "_INBOX.>"), seen[user])
        for user in RESOURCE_USERS:
            reply = await Bus(ncs[user], timeout=5).request(
                subjects.TOKEN_VERIFY, VerifyTokenRequest(token="mavio_at_bogus"), Introspection
            )
            assert reply.active is False
        for user in RESOURCE_USERS:
            assert len(await violations(errors[user], 2)) == 2, errors[user]
            assert ncs[user].is_connected
        await asyncio.gather(*(nc.flush() for nc in ncs.values()))
        assert seen == {user: [] for user in RESOURCE_USERS}
    finally:
        for nc in ncs.values():
            await nc.close()


async def test_a_resource_user_hears_only_the_events_a_verifier_needs(sut: System) -> None:
    """Not plan changes (every user's), not app events, not ``events.>``: only ``VERIFIER_EVENTS``."""
    errors: list[str] = []
    nc = await connect_as(sut, "meetings", errors)
    try:
        refused = (subjects.EVENT_PLAN_CHANGED, subjects.EVENT_APP_CREATED, subjects.EVENTS_ALL)
        await watch(nc, refused, [])
        await watch(nc, subjects.VERIFIER_EVENTS, [])
        await watch(nc, (f"{bus_auth.inbox_prefix('resource')}.>",), [])  # the last one refused
        # The server answers subscriptions in order: once the last refusal is in, so is any other.
        found = await violations(errors, len(refused) + 1)
        assert len(found) == len(refused) + 1, errors
        for subject, error in zip((*refused, "_INBOX.resource.>"), found, strict=True):
            assert subject.lower() in error.lower(), (subject, error)
    finally:
        await nc.close()


async def test_a_cached_verifier_as_a_resource_user_is_still_evicted(sut: System) -> None:
    party = await new_party(sut)
    status, _, pair = await exchange(sut, party, await consent_code(sut, party))
    assert status == 200, pair
    errors: list[str] = []
    nc = await connect_as(sut, "meetings", errors)
    verifier = TokenVerifier(nc, cache_ttl=30)
    try:
        await verifier.start()
        assert (await verifier.verify(pair["access_token"])).active is True
        assert len(verifier) == 1
        family = pair["access_token"][9:25]
        narrowed = ScopesNarrowed(
            at=time.time(), client_id=party.client_id, user_id=party.user.id, families=[family], scope=""
        )
        await publish_event(sut.nc, narrowed, audit=False)
        deadline = asyncio.get_running_loop().time() + 5
        while len(verifier) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        assert len(verifier) == 0
        await nc.flush()
        assert errors == []
    finally:
        await verifier.close()
        await nc.close()


async def test_no_user_can_serve_another_services_subjects_or_read_other_inboxes(sut: System) -> None:
    owner = await create_account(sut)
    await create_app(sut, owner)
    errors: list[str] = []
    spy = await connect_as(sut, "gateway", errors)
    seen: list[str] = []

    async def record(msg: nats.aio.msg.Msg) -> None:
        seen.append(msg.subject)

    try:
        await spy.subscribe(f"{subjects.PREFIX}.registry.>", cb=record)
        await spy.subscribe("_INBOX.>", cb=record)
        await spy.subscribe(f"{bus_auth.inbox_prefix('registry')}.>", cb=record)
        await spy.flush()
        data = await list_apps_as(sut.nc, owner.id)  # answered by the real registry
        assert b"apps" in data
        await spy.flush()  # whatever the server sent the spy before this round trip has arrived
        await violations(errors, 3)  # and the refusals of its three subscriptions
        assert seen == []
        assert sum("permissions violation for subscription" in e.lower() for e in errors) == 3, errors
    finally:
        await spy.close()


async def test_a_service_may_make_only_the_requests_it_needs(sut: System) -> None:
    owner = await create_account(sut)
    errors: list[str] = []
    nc = await connect_as(sut, "authorize", errors)
    try:
        with pytest.raises(nats.errors.Error):
            await list_apps_as(nc, owner.id)  # the authorize service never acts for an owner
    finally:
        await nc.close()


async def test_redis_refuses_clients_without_the_password(sut: System) -> None:
    async with aioredis.Redis.from_url(sut.servers.redis.url) as anonymous:
        with pytest.raises(redis.exceptions.AuthenticationError):
            await anonymous.get("mavio:accounts")
    env = sut.servers.env("registry")
    async with aioredis.Redis.from_url(
        sut.servers.redis.url, username=env["MAVIO_REDIS_USER"], password="wrong"
    ) as wrong:
        with pytest.raises(redis.exceptions.AuthenticationError):
            await wrong.ping()


async def test_the_services_redis_user_has_only_our_keys_and_no_admin_command(sut: System) -> None:
    env = sut.servers.env("registry")
    async with aioredis.Redis.from_url(
        sut.servers.redis.url, username=env["MAVIO_REDIS_USER"], password=env["MAVIO_REDIS_PASSWORD"]
    ) as service:
        assert await service.ping()
        await service.set("mavio:test:allowed", "1", ex=5)
        for refused in (
            service.get("other:key"),
            service.flushall(),
            service.config_get("*"),
            service.keys("*"),
            service.execute_command("ACL", "LIST"),
        ):
            with pytest.raises(redis.exceptions.NoPermissionError):
                await refused


def test_the_deployed_nats_config_grants_exactly_what_the_code_says() -> None:
    passwords = {user: f"$MAVIO_NATS_{user.upper()}_PASSWORD" for user in bus_auth.all_users()}
    assert DEPLOY_CONF.read_text().endswith(bus_auth.server_authorization(passwords))
    assert DEPLOY_CONF.read_text().endswith(bus_auth.deploy_authorization(bus_auth.DEFAULT_RESOURCE_USERS))


def test_compose_gives_each_process_its_user_and_redis_the_same_rule() -> None:
    compose = (DEPLOY_CONF.parents[1] / "compose.yaml").read_text()
    for user in bus_auth.all_users():
        assert f"MAVIO_NATS_{user.upper()}_PASSWORD: ${{MAVIO_NATS_{user.upper()}_PASSWORD:?set}}" in compose
    for process in (*subjects.SERVICES, "gateway"):
        assert f"MAVIO_NATS_USER: {process}" in compose
    assert '"--user", "default", "off"' in compose and "MAVIO_REDIS_USER: mavio" in compose
    for rule in redis_acl.SERVICE_RULES.split():
        assert f'"{rule}"' in compose, rule
