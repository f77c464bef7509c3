"""The token endpoint, introspection and metadata through the gateway, and verification on the bus, over
real NATS and Redis. Codes are written exactly as the authorize contract says (``seed_code``); the full
consent flow is in ``tests/e2e``. Every RFC 6749 §5.2 error code is asserted by its ``error`` string."""

from __future__ import annotations

import asyncio
import json

import pytest

from shared import subjects
from shared.bus import ERROR_CODE_HEADER, ERROR_HEADER
from shared.events import decode_event
from shared.grants import keys as grant_keys
from shared.messages.events import CodeReused, TokensRevoked
from shared.registry_client import RegistryClient
from tests.support.polling import eventually
from tests.support.system import System
from tests.support.token_flow import (
    Party,
    api_calls,
    bus_verify,
    exchange,
    new_party,
    one_char_off,
    pkce_pair,
    refresh,
    seed_code,
    token_request,
    tokens_for,
)


@pytest.fixture
async def party(system: System) -> Party:
    return await new_party(system)


async def test_code_exchange_answers_exactly_rfc6749_5_1_with_no_store(system: System, party: Party) -> None:
    status, headers, body = await exchange(system, party, await seed_code(system, party))
    assert status == 200, body
    assert headers["Cache-Control"] == "no-store" and headers["Pragma"] == "no-cache"
    assert headers["Content-Type"].startswith("application/json")
    assert list(body) == ["access_token", "refresh_token", "token_type", "expires_in", "scope"]
    assert body["access_token"].startswith("mavio_at_") and body["refresh_token"].startswith("mavio_rt_")
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["scope"] == "meetings:read users:read"


async def test_client_secret_basic_works_and_a_bad_basic_secret_gets_www_authenticate(
    system: System, party: Party
) -> None:
    code = await seed_code(system, party)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": party.redirect_uri}
    status, _, body = await token_request(system, form, headers=party.basic_header())
    assert status == 200, body
    wrong = Party(party.app, one_char_off(party.secret), party.user, party.owner)
    status, headers, body = await token_request(system, form, headers=wrong.basic_header())
    assert (status, body["error"]) == (401, "invalid_client")
    assert headers["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize(
    ("form", "extra_headers", "status", "error"),
    [
        ({}, {}, 401, "invalid_client"),
        (
            {
                "grant_type": "refresh_token",
                "client_id": "mavio_client_NoSuchClient0000",
                "client_secret": "x",
            },
            {},
            401,
            "invalid_client",
        ),
        ("json", {}, 400, "invalid_request"),
        ({"grant_type": ""}, {}, 400, "invalid_request"),
        (
            [("grant_type", "authorization_code"), ("grant_type", "authorization_code")],
            {},
            400,
            "invalid_request",
        ),
        ({"grant_type": "authorization_code"}, {}, 400, "invalid_request"),  # no code
        ({"grant_type": "refresh_token"}, {}, 400, "invalid_request"),  # no refresh_token
        ({"grant_type": "password", "username": "a", "password": "b"}, {}, 400, "unsupported_grant_type"),
        ({"grant_type": "client_credentials"}, {}, 400, "unauthorized_client"),
        ({"grant_type": "authorization_code", "code": "mavio_code_nope"}, {}, 400, "invalid_grant"),
        ({"grant_type": "refresh_token", "refresh_token": "mavio_rt_nope"}, {}, 400, "invalid_grant"),
        ({"grant_type": "refresh_token", "refresh_token": "x", "scope": 'a"b'}, {}, 400, "invalid_scope"),
        ({"grant_type": "authorization_code"}, "basic+post", 400, "invalid_request"),  # two methods
    ],
)
async def test_error_codes(
    system: System, party: Party, form: object, extra_headers: object, status: int, error: str
) -> None:
    headers: dict[str, str] = {}
    data: object
    if form == "json":
        async with system.http.post(
            system.url("/oauth/token"), json={"grant_type": "authorization_code", **party.post_auth()}
        ) as resp:
            got_status, body = resp.status, await resp.json()
    else:
        if isinstance(form, dict) and form and "client_id" not in form:
            data = {**form, **party.post_auth()}
        elif isinstance(form, list):
            data = form + list(party.post_auth().items())
        else:
            data = form
        if extra_headers == "basic+post":
            headers = party.basic_header()
        got_status, _, body = await token_request(system, data, headers=headers)  # type: ignore[arg-type]
    assert (got_status, body["error"]) == (status, error), body
    assert "error_description" in body or error == "invalid_client"


async def test_invalid_grant_cases_for_codes(system: System, party: Party) -> None:
    verifier, challenge = pkce_pair()
    other = await new_party(system)
    cases = [
        (await seed_code(system, party), {"redirect_uri": party.redirect_uri + "/"}),
        (await seed_code(system, party), {"redirect_uri": ""}),
        (await seed_code(system, party, challenge=challenge), {}),
        (await seed_code(system, party, challenge=challenge), {"code_verifier": pkce_pair()[0]}),
        (await seed_code(system, party), {"code_verifier": verifier}),
        (await seed_code(system, other), {}),  # another client's code
    ]
    for code, extra in cases:
        status, _, body = await exchange(system, party, code, **extra)
        assert (status, body["error"]) == (400, "invalid_grant"), (extra, body)
    ok = await seed_code(system, party, challenge=challenge)
    status, _, body = await exchange(system, party, ok, code_verifier=verifier)
    assert status == 200, body


async def test_a_reused_code_fails_and_revokes_its_tokens_with_events(system: System, party: Party) -> None:
    seen: list[object] = []

    async def on_event(msg: object) -> None:
        seen.append(decode_event(msg.data))  # type: ignore[attr-defined]

    sub = await system.nc.subscribe(subjects.EVENTS_ALL, cb=on_event)
    code = await seed_code(system, party)
    _, _, first = await exchange(system, party, code)
    assert (await bus_verify(system, first["access_token"]))["active"] is True
    status, _, body = await exchange(system, party, code)
    assert (status, body["error"]) == (400, "invalid_grant")
    assert await bus_verify(system, first["access_token"]) == {"active": False}
    status, _, body = await refresh(system, party, first["refresh_token"])
    assert (status, body["error"]) == (400, "invalid_grant")
    family = first["access_token"][9:25]

    async def published() -> set[type]:  # the kinds of event about this family so far
        return {
            type(e)
            for e in seen
            if getattr(e, "family", None) == family or family in getattr(e, "families", [])
        }

    await eventually(published, lambda kinds: {CodeReused, TokensRevoked} <= kinds)
    await sub.unsubscribe()
    assert any(isinstance(e, CodeReused) and e.family == family for e in seen)
    assert any(
        isinstance(e, TokensRevoked) and e.families == [family] and e.reason == "code_reused" for e in seen
    )
    assert await system.redis.zscore(grant_keys.app_families(party.client_id), family) is None


async def test_concurrent_exchanges_of_one_code_issue_at_most_one_pair(system: System, party: Party) -> None:
    code = await seed_code(system, party)
    results = await asyncio.gather(*(exchange(system, party, code) for _ in range(10)))
    issued = [body for status, _, body in results if status == 200]
    assert len(issued) <= 1  # one consumption; the racers are reuse, which revokes what it produced
    assert all(body["error"] == "invalid_grant" for status, _, body in results if status != 200)
    for body in issued:
        assert await bus_verify(system, body["access_token"]) == {"active": False}
    family = code[11:27]
    assert await system.redis.exists(grant_keys.family_revoked(family))


async def test_refresh_rotates_narrows_and_refuses_widening(system: System, party: Party) -> None:
    first = await tokens_for(system, party)
    status, _, body = await refresh(system, party, first["refresh_token"], scope="users:read meetings:read")
    assert status == 200 and body["scope"] == "meetings:read users:read"
    assert body["refresh_token"] != first["refresh_token"] and body["access_token"] != first["access_token"]
    status, _, narrowed = await refresh(system, party, body["refresh_token"], scope="users:read")
    assert status == 200 and narrowed["scope"] == "users:read"
    assert (await bus_verify(system, narrowed["access_token"]))["scope"] == "users:read"
    status, _, err = await refresh(system, party, narrowed["refresh_token"], scope="users:read meetings:read")
    assert (status, err["error"]) == (400, "invalid_scope")
    status, _, err = await refresh(system, party, narrowed["refresh_token"], scope="transcripts:read")
    assert (status, err["error"]) == (400, "invalid_scope")


async def test_a_refresh_token_of_another_client_is_invalid_grant(system: System, party: Party) -> None:
    other = await new_party(system)
    theirs = await tokens_for(system, other)
    status, _, body = await refresh(system, party, theirs["refresh_token"])
    assert (status, body["error"]) == (400, "invalid_grant")
    status, _, body = await refresh(system, other, theirs["refresh_token"])  # untouched by the attempt
    assert status == 200, body


async def test_bus_verification_shapes_and_counts(system: System, party: Party) -> None:
    pair = await tokens_for(system, party)
    before = await api_calls(system, party.client_id)
    info = await bus_verify(system, pair["access_token"])
    assert info == {
        "active": True,
        "client_id": party.client_id,
        "sub": party.user.id,
        "scope": "meetings:read users:read",
        "exp": info["exp"],
        "iat": info["iat"],
        "token_type": "Bearer",
    }
    assert info["exp"] - info["iat"] == 3600
    for token in (pair["refresh_token"], "", "mavio_at_garbage", one_char_off(pair["access_token"])):
        assert await bus_verify(system, token) == {"active": False}
    await bus_verify(system, pair["access_token"])
    await eventually(lambda: api_calls(system, party.client_id), lambda n: n >= before + 2)
    assert await api_calls(system, party.client_id) == before + 2  # only active verifications count
    days = [k async for k in system.redis.scan_iter(match=grant_keys.app_calls_day(party.client_id, "*"))]
    assert len(days) == 1 and int(await system.redis.get(days[0])) >= 2


async def test_malformed_bus_request_gets_the_invalid_request_envelope(system: System) -> None:
    for payload in (b"{not json", b'{"tok": 1}', b'{"token": 5}'):
        msg = await system.nc.request(subjects.TOKEN_VERIFY, payload, timeout=2)
        assert msg.headers and msg.headers[ERROR_HEADER] == "invalid_request"
        assert msg.headers[ERROR_CODE_HEADER] == "400"
        assert json.loads(msg.data)["error"] == "invalid_request"


async def test_introspection_only_for_the_owning_client(system: System, party: Party) -> None:
    pair = await tokens_for(system, party)
    other = await new_party(system)

    async def introspect(who: Party, token: str, **extra: str) -> tuple[int, dict[str, object]]:
        status, headers, body = await token_request(
            system, {"token": token, **who.post_auth(), **extra}, path="/oauth/introspect"
        )
        if status == 200:
            assert headers["Cache-Control"] == "no-store"
        return status, body

    status, body = await introspect(party, pair["access_token"], token_type_hint="access_token")
    assert status == 200 and body["active"] is True and body["sub"] == party.user.id
    assert body["token_type"] == "Bearer"
    status, body = await introspect(party, pair["refresh_token"])
    assert body["active"] is True and body["token_type"] == "refresh_token"
    assert await introspect(other, pair["access_token"]) == (200, {"active": False})
    assert await introspect(party, "mavio_at_unknown") == (200, {"active": False})
    status, _, body = await token_request(system, {"token": pair["access_token"]}, path="/oauth/introspect")
    assert (status, body["error"]) == (401, "invalid_client")
    status, body = await introspect(party, "")
    assert (status, body["error"]) == (400, "invalid_request")
    await refresh(system, party, pair["refresh_token"])
    assert await introspect(party, pair["refresh_token"]) == (200, {"active": False})  # rotated


async def test_metadata_rfc8414(system: System) -> None:
    async with system.http.get(system.url("/.well-known/oauth-authorization-server")) as resp:
        assert resp.status == 200
        meta = await resp.json()
    base = system.settings.public_url
    assert meta["issuer"] == base
    assert meta["authorization_endpoint"] == base + "/oauth/authorize"
    assert meta["token_endpoint"] == base + "/oauth/token"
    assert meta["revocation_endpoint"] == base + "/oauth/revoke"
    assert meta["introspection_endpoint"] == base + "/oauth/introspect"
    assert "meetings:read" in meta["scopes_supported"]
    assert meta["response_types_supported"] == ["code"]
    assert meta["grant_types_supported"] == [
        "authorization_code",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code",  # RFC 8628 §4
    ]
    assert meta["device_authorization_endpoint"] == base + "/oauth/device_authorization"
    # "none": a public app authenticates with its client_id alone (issue 25; RFC 6749 §2.1)
    assert meta["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ]
    assert meta["code_challenge_methods_supported"] == ["S256"]


async def test_regenerated_secret_stops_working_at_once(system: System, party: Party) -> None:
    pair = await tokens_for(system, party)
    reply = await RegistryClient(system.bus).regenerate_secret(party.owner.id, party.client_id)
    status, _, body = await refresh(system, party, pair["refresh_token"])
    assert (status, body["error"]) == (401, "invalid_client")
    renewed = Party(party.app, reply.client_secret, party.user, party.owner)
    status, _, body = await refresh(system, renewed, pair["refresh_token"])
    assert status == 200, body  # the grant itself survives a secret rotation


async def test_deleted_app_fails_invalid_client(system: System, party: Party) -> None:
    pair = await tokens_for(system, party)
    code = await seed_code(system, party)
    await RegistryClient(system.bus).delete_app(party.owner.id, party.client_id)
    for status, _, body in (
        await refresh(system, party, pair["refresh_token"]),
        await exchange(system, party, code),
    ):
        assert (status, body["error"]) == (401, "invalid_client")
