"""``POST /oauth/revoke`` (RFC 7009) through the gateway, over real NATS and Redis: both client
authentication methods, own and other clients' tokens, refresh tokens revoking their family, no oracle
for unknown tokens, and the ``TokensRevoked`` event."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest
from nats.aio.msg import Msg

from shared import subjects
from shared.grants import keys as grant_keys
from shared.messages import events as ev
from tests.support.system import System
from tests.support.token_flow import (
    Party,
    bus_verify,
    new_party,
    refresh,
    token_request,
    tokens_for,
)


async def revoke(system: System, party: Party, token: str, *, basic: bool = False, **extra: str) -> Any:
    form = {"token": token, **extra}
    if basic:
        return await token_request(system, form, headers=party.basic_header(), path="/oauth/revoke")
    return await token_request(system, {**form, **party.post_auth()}, path="/oauth/revoke")


@pytest.mark.parametrize("basic", [False, True], ids=["client_secret_post", "client_secret_basic"])
async def test_revoking_an_access_token_ends_it_and_leaves_the_refresh_token(
    system: System, basic: bool
) -> None:
    party = await new_party(system)
    pair = await tokens_for(system, party)
    status, headers, body = await revoke(system, party, pair["access_token"], basic=basic)
    assert (status, body) == (200, {})
    assert headers["Cache-Control"] == "no-store"
    assert (await bus_verify(system, pair["access_token"])) == {"active": False}
    status, _, fresh = await refresh(system, party, pair["refresh_token"])
    assert status == 200, fresh
    assert (await bus_verify(system, fresh["access_token"]))["active"] is True


@pytest.mark.parametrize("basic", [False, True], ids=["client_secret_post", "client_secret_basic"])
async def test_revoking_a_refresh_token_revokes_its_whole_family(system: System, basic: bool) -> None:
    party = await new_party(system)
    pair = await tokens_for(system, party)
    status, _, second = await refresh(system, party, pair["refresh_token"])
    assert status == 200
    status, _, body = await revoke(
        system, party, second["refresh_token"], basic=basic, token_type_hint="refresh_token"
    )
    assert (status, body) == (200, {})
    for token in (pair["access_token"], second["access_token"]):
        assert (await bus_verify(system, token)) == {"active": False}
    status, _, body = await refresh(system, party, second["refresh_token"])
    assert (status, body["error"]) == (400, "invalid_grant")
    assert await system.redis.hlen(grant_keys.app_grant_users(party.client_id)) == 0
    assert await system.redis.zcard(grant_keys.app_families(party.client_id)) == 0


async def test_another_clients_token_is_refused_and_left_untouched(system: System) -> None:
    owner, other = await new_party(system), await new_party(system)
    pair = await tokens_for(system, owner)
    for token in (pair["access_token"], pair["refresh_token"]):
        status, _, body = await revoke(system, other, token)
        assert (status, body["error"]) == (400, "unauthorized_client")
    assert (await bus_verify(system, pair["access_token"]))["active"] is True
    status, _, body = await refresh(system, owner, pair["refresh_token"])
    assert status == 200, body


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        "mavio_at_" + "A" * 54,  # right shape, bad checksum
        "mavio_rt_0000000000000000" + "x" * 38,
    ],
)
async def test_malformed_tokens_answer_200(system: System, token: str) -> None:
    party = await new_party(system)
    status, _, body = await revoke(system, party, token)
    assert (status, body) == (200, {})


async def test_unknown_and_already_revoked_tokens_answer_200(system: System) -> None:
    party = await new_party(system)
    pair = await tokens_for(system, party)
    for _ in range(2):
        status, _, body = await revoke(system, party, pair["refresh_token"])
        assert (status, body) == (200, {})
    status, _, body = await revoke(system, party, pair["access_token"])  # gone with its family
    assert (status, body) == (200, {})


async def test_an_unknown_token_type_hint_is_ignored(system: System) -> None:
    party = await new_party(system)
    pair = await tokens_for(system, party)
    status, _, body = await revoke(system, party, pair["access_token"], token_type_hint="id_token")
    assert (status, body) == (200, {})
    assert (await bus_verify(system, pair["access_token"])) == {"active": False}


async def test_missing_token_is_invalid_request(system: System) -> None:
    party = await new_party(system)
    status, _, body = await token_request(system, party.post_auth(), path="/oauth/revoke")
    assert (status, body["error"]) == (400, "invalid_request")


async def test_client_authentication_is_required(system: System) -> None:
    party = await new_party(system)
    pair = await tokens_for(system, party)
    status, _, body = await token_request(system, {"token": pair["access_token"]}, path="/oauth/revoke")
    assert (status, body["error"]) == (401, "invalid_client")
    wrong = {"client_id": party.client_id, "client_secret": "mavio_cs_wrong", "token": pair["access_token"]}
    status, _, body = await token_request(system, wrong, path="/oauth/revoke")
    assert (status, body["error"]) == (401, "invalid_client")
    bad_basic = {"Authorization": "Basic bm90OnJpZ2h0"}  # not:right
    status, headers, body = await token_request(
        system, {"token": pair["access_token"]}, headers=bad_basic, path="/oauth/revoke"
    )
    assert (status, body["error"]) == (401, "invalid_client")
    assert headers["WWW-Authenticate"].startswith("Basic")
    assert (await bus_verify(system, pair["access_token"]))["active"] is True


async def test_revocation_is_announced_without_the_token(system: System) -> None:
    party = await new_party(system)
    pair = await tokens_for(system, party)
    seen: asyncio.Queue[Msg] = asyncio.Queue()
    sub = await system.nc.subscribe(subjects.EVENT_TOKENS_REVOKED, cb=seen.put)
    try:
        await revoke(system, party, pair["refresh_token"])
        msg = await asyncio.wait_for(seen.get(), 5)
    finally:
        await sub.unsubscribe()
    event = msgspec.json.decode(msg.data, type=ev.Event)
    assert isinstance(event, ev.TokensRevoked)
    assert event.client_id == party.client_id and event.user_id == party.user.id
    assert event.reason == "rfc7009" and len(event.families) == 1
    assert pair["refresh_token"].encode() not in msg.data and pair["access_token"].encode() not in msg.data
