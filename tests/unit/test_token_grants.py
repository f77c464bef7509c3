"""Token service domain logic without I/O: code checks, scope narrowing input, grant dispatch order,
issuance and sealing (RFC error strings asserted). Verification and the API-call counter run on the
real store: ``tests/integration/handlers/test_token_verify_store.py``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec
import pytest

from services.token.calls import utc_day
from services.token.endpoint import TokenEndpoint
from services.token.exchange_code import check_code
from services.token.issuance import first_records, mint_pair, open_successor, seal_successor
from services.token.refresh import requested_scope
from shared.errors import InvalidClient, InvalidGrant, InvalidRequest, OAuthError
from shared.grants.records import AccessTokenRecord, CodeRecord, RefreshTokenRecord
from shared.messages.registry import AppView
from shared.messages.token import ExchangeTokenReply, ExchangeTokenRequest
from shared.tokens import Signer, mint, new_family_id
from tests.support.token_flow import one_char_off, pkce_pair

NOW = 1_800_000_000
SIGNER = Signer(b"k" * 32)
VERIFIER, CHALLENGE = pkce_pair()


def code_record(**overrides: Any) -> CodeRecord:
    values: dict[str, Any] = {
        "family": new_family_id(),
        "client_id": "mavio_client_AAAAAAAAAAAAAAAA",
        "user_id": "usr_1",
        "redirect_uri": "https://app.example/cb",
        "scope": "meetings:read",
        "issued_at": NOW - 10,
        "expires_at": NOW + 590,
    }
    return CodeRecord(**(values | overrides))


GOOD = {"client_id": "mavio_client_AAAAAAAAAAAAAAAA", "redirect_uri": "https://app.example/cb", "now": NOW}


@pytest.mark.parametrize(
    ("record", "params", "error"),
    [
        (code_record(), {"code_verifier": ""}, None),
        (code_record(), {"client_id": "mavio_client_BBBBBBBBBBBBBBBB", "code_verifier": ""}, "invalid_grant"),
        (code_record(), {"redirect_uri": "https://app.example/cb/", "code_verifier": ""}, "invalid_grant"),
        (code_record(), {"redirect_uri": "", "code_verifier": ""}, "invalid_grant"),
        (code_record(redirect_uri_given=False), {"redirect_uri": "", "code_verifier": ""}, None),
        (
            code_record(redirect_uri_given=False),
            {"redirect_uri": "https://x.example/", "code_verifier": ""},
            "invalid_grant",
        ),
        (code_record(expires_at=NOW), {"code_verifier": ""}, "invalid_grant"),
        (
            code_record(code_challenge=CHALLENGE, code_challenge_method="S256"),
            {"code_verifier": VERIFIER},
            None,
        ),
        (
            code_record(code_challenge=CHALLENGE, code_challenge_method="S256"),
            {"code_verifier": ""},
            "invalid_grant",
        ),
        (
            code_record(code_challenge=CHALLENGE, code_challenge_method="S256"),
            {"code_verifier": one_char_off(VERIFIER)},
            "invalid_grant",
        ),
        (
            code_record(code_challenge=CHALLENGE, code_challenge_method="plain"),
            {"code_verifier": VERIFIER},
            "invalid_grant",
        ),
        (code_record(), {"code_verifier": VERIFIER}, "invalid_grant"),  # RFC 9700 §4.8.2 downgrade
    ],
)
def test_check_code(record: CodeRecord, params: dict[str, Any], error: str | None) -> None:
    kwargs = GOOD | params
    if error is None:
        check_code(record, **kwargs)
        return
    with pytest.raises(OAuthError) as exc:
        check_code(record, **kwargs)
    assert exc.value.error == error


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", ""), ("a b", "a b"), ("  b  a b ", "b a"), ("meetings:read", "meetings:read")],
)
def test_requested_scope_normalises(value: str, expected: str) -> None:
    assert requested_scope(value) == expected


def test_requested_scope_refuses_malformed() -> None:
    with pytest.raises(OAuthError) as exc:
        requested_scope('bad"scope')
    assert exc.value.error == "invalid_scope"


@dataclass
class FakeClients:
    calls: list[str] = field(default_factory=list)
    refuse: bool = False

    async def verify_client(
        self, client_id: str, client_secret: str, *, request_id: str | None = None
    ) -> AppView:
        self.calls.append(client_id)
        if self.refuse:
            raise InvalidClient("client authentication failed")
        return AppView(
            client_id=client_id, name="x", homepage_url="https://x", redirect_uris=[], scopes=[], owner_id="o"
        )


class Unreachable:
    async def exchange(self, *_: Any, **__: Any) -> Any:
        raise AssertionError("the grant must not run")

    refresh = exchange


def request(grant_type: str, **extra: str) -> ExchangeTokenRequest:
    return ExchangeTokenRequest(
        client_id="mavio_client_AAAAAAAAAAAAAAAA",
        client_secret="s",
        grant_type=grant_type,
        **extra,
    )


@pytest.mark.parametrize(
    ("grant_type", "error", "authenticated"),
    [
        ("", "invalid_request", False),
        ("password", "unsupported_grant_type", False),
        ("implicit", "unsupported_grant_type", False),
        ("urn:ietf:params:oauth:grant-type:device_code", "unauthorized_client", True),  # device flow off
        ("client_credentials", "unauthorized_client", True),
    ],
)
async def test_grant_type_errors_in_order(grant_type: str, error: str, authenticated: bool) -> None:
    clients = FakeClients()
    endpoint = TokenEndpoint(clients, Unreachable(), Unreachable(), Unreachable())  # type: ignore[arg-type]
    with pytest.raises(OAuthError) as exc:
        await endpoint.exchange(request(grant_type), request_id="r")
    assert exc.value.error == error
    assert bool(clients.calls) is authenticated


async def test_client_authentication_precedes_the_grant() -> None:
    endpoint = TokenEndpoint(FakeClients(refuse=True), Unreachable(), Unreachable(), Unreachable())  # type: ignore[arg-type]
    with pytest.raises(InvalidClient):
        await endpoint.exchange(request("authorization_code", code="x"), request_id="r")


class OpenIdGrant:
    """A grant that issues tokens holding openid and adds no ID token itself (as a later grant may)."""

    async def exchange(
        self, client_id: str, req: ExchangeTokenRequest, *, now: int, public: bool = False
    ) -> ExchangeTokenReply:
        return ExchangeTokenReply(access_token="a", refresh_token="r", expires_in=60, scope="openid")


async def test_every_grants_reply_goes_through_the_common_id_token_path() -> None:
    seen: list[int] = []

    async def net(reply: ExchangeTokenReply, now: int) -> ExchangeTokenReply:
        seen.append(now)
        return msgspec.structs.replace(reply, id_token="signed")

    endpoint = TokenEndpoint(FakeClients(), OpenIdGrant(), Unreachable(), Unreachable(), id_tokens=net)  # type: ignore[arg-type]
    reply = await endpoint.exchange(request("authorization_code", code="x"), request_id="r")
    assert reply.id_token == "signed" and len(seen) == 1


def test_minted_pair_shares_the_family_and_records_hold_signatures_only() -> None:
    family = new_family_id()
    pair = mint_pair(family, SIGNER)
    assert pair.access_token.startswith(f"mavio_at_{family}") and pair.refresh_token.startswith(
        f"mavio_rt_{family}"
    )
    assert pair.access_sig == SIGNER.sign(pair.access_token)
    access, refresh = first_records(
        pair, family=family, client_id="c", user_id="u", scope="s", now=NOW, access_ttl=60, refresh_ttl=600
    )
    assert msgspec.json.decode(access, type=AccessTokenRecord).expires_at == NOW + 60
    assert msgspec.json.decode(refresh, type=RefreshTokenRecord).expires_at == NOW + 600
    for blob in (access, refresh):
        assert pair.access_token.encode() not in blob and pair.refresh_token.encode() not in blob


def test_sealed_successor_opens_only_with_the_presented_token() -> None:
    family = new_family_id()
    presented = mint("rt", family)
    pair = mint_pair(family, SIGNER)
    sealed = seal_successor(presented, SIGNER.sign(presented), pair, expires_at=NOW + 60)
    assert pair.access_token.encode() not in sealed and pair.refresh_token.encode() not in sealed
    opened = open_successor(presented, SIGNER.sign(presented), sealed)
    assert opened is not None and (opened.access_token, opened.refresh_token) == (
        pair.access_token,
        pair.refresh_token,
    )
    other = mint("rt", family)
    assert open_successor(other, SIGNER.sign(presented), sealed) is None


def test_utc_day() -> None:
    assert utc_day(0) == "19700101"


def test_errors_are_the_rfc_types() -> None:
    assert InvalidGrant.error == "invalid_grant" and InvalidRequest.error == "invalid_request"
