"""Concurrent ``POST /oauth/token`` requests through the gateway go to the token service many per bus message
(``token.exchange_many``), and each gets exactly the answer it gets alone: HTTP status, JSON body (a
success's fields and values, an error's ``error`` and ``error_description``), ``WWW-Authenticate`` and
``Cache-Control``. One request's failure does not touch the others; a gateway that sends the single
``token.exchange`` (an older one) still gets its answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from shared import subjects
from shared.bus import Bus
from shared.errors import InvalidGrant
from shared.messages.token import ExchangeTokenReply, ExchangeTokenRequest
from tests.support import device_flow
from tests.support.bus_users import connect_as
from tests.support.system import System
from tests.support.token_batches import ExchangeWatch, watching
from tests.support.token_flow import (
    Party,
    exchange,
    new_party,
    one_char_off,
    pkce_pair,
    seed_code,
    tokens_for,
)

Case = tuple[str, Any, dict[str, str]]  # name, form, extra headers
Answer = tuple[int, str | None, str | None, dict[str, Any]]  # status, WWW-Authenticate, Cache-Control, body


@pytest.fixture
async def seen(system: System) -> AsyncIterator[ExchangeWatch]:
    async with watching(system.nc) as found:
        yield found


async def cases(system: System, party: Party, device: Party) -> list[Case]:
    """One request of each kind, on fresh state (each call makes its own codes and tokens)."""
    pair = await tokens_for(system, party)
    verifier, challenge = pkce_pair()
    pkce_code = await seed_code(system, party, challenge=challenge)
    used = await seed_code(system, party)
    assert (await exchange(system, party, used))[0] == 200
    basic_code = await seed_code(system, party)
    pending = (await device_flow.started(system, device))["device_code"]
    wrong = Party(party.app, one_char_off(party.secret), party.user, party.owner)
    code_form = {"grant_type": "authorization_code", "redirect_uri": party.redirect_uri}
    return [
        (
            "refresh",
            {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"], **party.post_auth()},
            {},
        ),
        ("pkce", {**code_form, "code": pkce_code, "code_verifier": verifier, **party.post_auth()}, {}),
        ("wrong basic secret", {**code_form, "code": basic_code}, wrong.basic_header()),
        ("reused code", {**code_form, "code": used, **party.post_auth()}, {}),
        ("no grant_type", {"refresh_token": pair["refresh_token"], **party.post_auth()}, {}),
        (
            "repeated",
            [("grant_type", "refresh_token"), ("grant_type", "refresh_token"), *party.post_auth().items()],
            {},
        ),
        ("unknown grant", {"grant_type": "password", **party.post_auth()}, {}),
        (
            "device pending",
            {"grant_type": device_flow.DEVICE_GRANT, "device_code": pending, **device.post_auth()},
            {},
        ),
    ]


async def answer(system: System, case: Case, request_id: str) -> Answer:
    _, form, headers = case
    async with system.http.post(
        system.url("/oauth/token"), data=form, headers={**headers, "X-Request-Id": request_id}
    ) as resp:
        body = await resp.json()
        return resp.status, resp.headers.get("WWW-Authenticate"), resp.headers.get("Cache-Control"), body


async def token_stats(system: System) -> dict[str, tuple[int, int]]:
    """The token service's ``$SRV.STATS``: (requests, errors) by endpoint subject (one replica here); the
    batches the gateway sent to the replica's own subject counted with ``token.exchange_many``'s."""
    msg = await system.nc.request("$SRV.STATS.token", b"", timeout=5)
    found: dict[str, tuple[int, int]] = {}
    for e in msgspec.json.decode(msg.data)["endpoints"]:
        subject = e["subject"]
        if subject.startswith(subjects.TOKEN_EXCHANGE_MANY + "."):
            subject = subjects.TOKEN_EXCHANGE_MANY
        requests, errors = found.get(subject, (0, 0))
        found[subject] = (requests + e["num_requests"], errors + e["num_errors"])
    return found


def comparable(found: Answer) -> Answer:
    """A success's tokens are new each time: compared by their kind; everything else as it is."""
    status, challenge, cache, body = found
    tokens = {k: v.split("_")[1] for k, v in body.items() if k in ("access_token", "refresh_token")}
    return status, challenge, cache, {**body, **tokens}


async def test_concurrent_requests_each_get_exactly_their_answer_alone(
    system: System, seen: ExchangeWatch
) -> None:
    party, device = await new_party(system), await new_party(system, device_flow=True)
    alone = [
        comparable(await answer(system, case, f"alone-{i}"))
        for i, case in enumerate(await cases(system, party, device))
    ]
    together_cases = await cases(system, party, device)
    names = [name for name, _, _ in together_cases]
    ids = [f"together-{i}" for i in range(len(together_cases))]
    before = await token_stats(system)
    together = await asyncio.gather(
        *(answer(system, case, rid) for case, rid in zip(together_cases, ids, strict=True))
    )
    assert dict(zip(names, map(comparable, together), strict=True)) == dict(zip(names, alone, strict=True))
    expected = {
        "refresh": 200,
        "pkce": 200,
        "wrong basic secret": 401,
        "reused code": 400,
        "no grant_type": 400,
        "repeated": 400,
        "unknown grant": 400,
        "device pending": 400,
    }
    assert {name: status for name, (status, _, _, _) in zip(names, alone, strict=True)} == expected
    assert alone[2][1] is not None and alone[2][1].startswith("Basic")
    assert alone[7][3]["error"] == "authorization_pending"
    # every request but the one the gateway refuses itself reached the service once, most in one message
    asked = [rid for rid in ids if rid != "together-5"]
    batches = seen.batch_ids("together-")
    batched = [rid for batch in batches for rid in batch]
    assert sorted(batched + seen.single_ids("together-")) == sorted(asked), (batches, seen.singles)
    assert max(map(len, batches), default=0) >= 2, batches
    # the token service counted each request as one exchange, and each batch as one message
    after = await token_stats(system)
    assert after[subjects.TOKEN_EXCHANGE][0] - before[subjects.TOKEN_EXCHANGE][0] == len(asked)
    assert after[subjects.TOKEN_EXCHANGE][1] - before[subjects.TOKEN_EXCHANGE][1] == len(asked) - 2
    many = batches
    requests, errors = before[subjects.TOKEN_EXCHANGE_MANY]
    assert after[subjects.TOKEN_EXCHANGE_MANY] == (requests + len(many), errors)


async def test_one_failing_request_leaves_the_others_alone(system: System, seen: ExchangeWatch) -> None:
    party = await new_party(system)
    pairs = [await tokens_for(system, party) for _ in range(4)]
    forms = [
        {"grant_type": "refresh_token", "refresh_token": p["refresh_token"], **party.post_auth()}
        for p in pairs
    ]
    forms[2]["refresh_token"] = "mavio_rt_" + "x" * 30  # not a token of ours
    found = await asyncio.gather(
        *(answer(system, ("r", form, {}), f"one-fails-{i}") for i, form in enumerate(forms))
    )
    assert [status for status, *_ in found] == [200, 200, 400, 200]
    assert found[2][3]["error"] == "invalid_grant"
    assert len({body["access_token"] for status, _, _, body in found if status == 200}) == 3


async def test_a_gateway_sending_single_exchanges_still_gets_its_answers(system: System) -> None:
    """An older gateway (bus user ``gateway``) asks ``token.exchange`` one request per message."""
    party = await new_party(system)
    pair = await tokens_for(system, party)
    nc = await connect_as(system, "gateway")
    try:
        bus = Bus(nc, timeout=5)
        req = ExchangeTokenRequest(
            client_id=party.client_id,
            client_secret=party.secret,
            grant_type="refresh_token",
            refresh_token=pair["refresh_token"],
        )
        rotated = await bus.request(
            subjects.TOKEN_EXCHANGE, req, ExchangeTokenReply, request_id="old-gateway"
        )
        assert rotated.refresh_token != pair["refresh_token"] and rotated.scope == pair["scope"]
        again = msgspec.structs.replace(req, refresh_token="mavio_rt_" + "y" * 30)
        with pytest.raises(InvalidGrant):
            await bus.request(subjects.TOKEN_EXCHANGE, again, ExchangeTokenReply)
    finally:
        await nc.close()
