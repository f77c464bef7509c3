"""The signing key set's rules (pure, injected clock): a current and a next key per algorithm, rotation
(next becomes current, current retired without its private key, a new next key), what the JWKS
publishes (retired keys until ``retired_at + MAVIO_ID_TOKEN_TTL``), private keys only sealed and bound
to their kid; and ``claims_if_signed`` for ``id_token_hint``: expired tokens accepted, anything not ours
refused."""

from __future__ import annotations

import msgspec
import pytest
from authlib.oidc.core.util import create_half_hash
from joserfc import jwt
from joserfc.jwk import RSAKey

from shared.oidc_claims import allowed, at_hash, requested
from shared.sealing import Sealer, SealError
from shared.signing.keyset import (
    ALGS,
    KeySet,
    current,
    encode_keyset,
    initial,
    open_private,
    published,
    rotated,
)
from shared.signing.verify import claims_if_signed

SEALER = Sealer(b"k" * 32)
TTL = 3600
ISSUER = "https://auth.example"


@pytest.fixture(scope="module")
def first() -> KeySet:
    return initial(now=1000, sealer=SEALER)


def states(keyset: KeySet) -> list[tuple[str, str]]:
    return sorted((r.alg, r.state) for r in keyset.keys)


def test_a_first_set_has_a_current_and_a_next_key_of_each_algorithm(first: KeySet) -> None:
    assert states(first) == sorted((alg, s) for alg in ALGS for s in ("current", "next"))
    assert len({r.kid for r in first.keys}) == 4
    rsa = open_private(current(first, "RS256"), SEALER)  # type: ignore[arg-type]
    assert isinstance(rsa, RSAKey) and rsa.as_dict(private=False)["n"]
    assert len(rsa.as_dict(private=True)["n"]) >= 342  # 2048 bits, base64url


def test_private_keys_are_only_sealed_and_bound_to_their_kid(first: KeySet) -> None:
    text = encode_keyset(first)
    assert b'"d":' not in text and b"PRIVATE KEY" not in text
    for record in first.keys:
        assert "d" not in record.public
    a, b = first.keys[0], first.keys[1]
    with pytest.raises(SealError):
        open_private(msgspec.structs.replace(a, sealed=b.sealed), SEALER)  # another key's seal
    with pytest.raises(SealError):
        open_private(a, Sealer(b"x" * 32))  # another key-encryption key


def test_rotation_makes_next_current_retires_current_and_makes_a_new_next(first: KeySet) -> None:
    second = rotated(first, now=2000, id_token_ttl=TTL, sealer=SEALER)
    for alg in ALGS:
        was = {r.state: r for r in first.keys if r.alg == alg}
        now = {r.kid: r for r in second.keys if r.alg == alg}
        assert now[was["next"].kid].state == "current"
        retired = now[was["current"].kid]
        assert (retired.state, retired.retired_at, retired.sealed) == ("retired", 2000, "")
        assert [r.state for r in now.values()].count("next") == 1


def test_retired_keys_are_published_until_their_id_tokens_have_expired(first: KeySet) -> None:
    second = rotated(first, now=2000, id_token_ttl=TTL, sealer=SEALER)
    retired = {r.kid for r in second.keys if r.state == "retired"}

    def kids(now: int) -> set[str]:
        return {k["kid"] for k in published(second, now=now, id_token_ttl=TTL)["keys"]}

    assert retired <= kids(2000 + TTL - 1)
    assert not retired & kids(2000 + TTL)
    assert len(kids(2000 + TTL)) == 4  # the current and next keys stay
    third = rotated(second, now=2000 + TTL, id_token_ttl=TTL, sealer=SEALER)
    assert not retired & {r.kid for r in third.keys}  # dropped from the set at the next rotation


def test_claims_if_signed_accepts_an_expired_id_token_and_refuses_anything_else(first: KeySet) -> None:
    record = current(first, "ES256")
    assert record is not None
    key = open_private(record, SEALER)
    claims = {"iss": ISSUER, "sub": "usr_1", "aud": "app", "exp": 1, "iat": 0}
    token = jwt.encode({"alg": "ES256", "kid": record.kid}, claims, key)
    jwks = published(first, now=1000, id_token_ttl=TTL)
    assert claims_if_signed(token, jwks, issuer=ISSUER) == claims  # long expired: still a hint
    assert claims_if_signed(token, jwks, issuer="https://other.example") is None
    assert claims_if_signed(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"), jwks, issuer=ISSUER) is None
    assert claims_if_signed("not.a.jwt", jwks, issuer=ISSUER) is None
    stranger = RSAKey.generate_key(2048, parameters={"kid": record.kid}, private=True)
    forged = jwt.encode({"alg": "RS256", "kid": record.kid}, claims, stranger)
    assert claims_if_signed(forged, jwks, issuer=ISSUER) is None
    unsigned = jwt.encode({"alg": "none"}, claims, None, algorithms=["none"])
    assert claims_if_signed(unsigned, jwks, issuer=ISSUER) is None


def test_at_hash_is_the_left_half_of_sha256_as_authlib_computes_it() -> None:
    token = "mav_at_example-access-token"
    assert at_hash(token) == create_half_hash(token, "RS256").decode()


@pytest.mark.parametrize(
    ("scope", "claims"),
    [
        ("openid", []),
        ("openid profile", ["name"]),
        ("email openid", ["email", "email_verified"]),
        ("profile email openid meetings:read", ["name", "email", "email_verified"]),
    ],
)
def test_the_scope_decides_the_user_claims(scope: str, claims: list[str]) -> None:
    assert allowed(scope) == claims


def test_the_claims_request_names_only_known_user_claims() -> None:
    asked = '{"id_token": {"email": null, "phone_number": null}, "userinfo": {"name": {"essential": true}}}'
    assert requested(asked, "id_token") == {"email"}
    assert requested(asked, "userinfo") == {"name"}
    for bad in ("", "[]", "not json", '{"id_token": ["email"]}'):
        assert requested(bad, "id_token") == set()
