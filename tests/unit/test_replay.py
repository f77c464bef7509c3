"""Sealing the refresh-token replay window (services/token/replay.py)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from services.token import replay
from services.token.replay import open_sealed, seal

OLD_RT = "mavio_rt_0123456789ABCDEFabcdefghijklmnopqrstuvwxyzABCDEF16Ugzu"
OTHER_RT = "mavio_rt_0123456789ABCDEFabcdefghijklmnopqrstuvwxyzABCDEG" + "000000"
CONTEXT = b"3f1a" * 16  # e.g. the old token's signature
PAIR = b'{"access_token":"mavio_at_...","refresh_token":"mavio_rt_...","expires_in":3600}'


def test_round_trip() -> None:
    blob = seal(OLD_RT, PAIR, context=CONTEXT)
    assert open_sealed(OLD_RT, blob, context=CONTEXT) == PAIR


def test_blob_layout_and_no_plaintext_at_rest() -> None:
    blob = seal(OLD_RT, PAIR, context=CONTEXT)
    assert len(blob) == 12 + len(PAIR) + 16
    assert b"mavio_" not in blob
    assert OLD_RT.encode() not in blob


def test_documented_construction() -> None:
    """Key: HKDF-SHA256(token, salt, b"mavio refresh replay v1" + context); nonce first; context is AAD."""
    blob = seal(OLD_RT, PAIR, context=CONTEXT)
    key = HKDF(
        algorithm=SHA256(), length=32, salt=replay._SALT, info=b"mavio refresh replay v1" + CONTEXT
    ).derive(OLD_RT.encode())
    assert AESGCM(key).decrypt(blob[:12], blob[12:], CONTEXT) == PAIR


def test_nonce_is_fresh_per_seal() -> None:
    blobs = {seal(OLD_RT, PAIR, context=CONTEXT) for _ in range(100)}
    assert len(blobs) == 100
    assert len({b[:12] for b in blobs}) == 100
    assert {open_sealed(OLD_RT, b, context=CONTEXT) for b in blobs} == {PAIR}


@pytest.mark.parametrize("plaintext", [b"", b"x", b"\x00" * 4096])
def test_round_trip_sizes(plaintext: bytes) -> None:
    assert open_sealed(OLD_RT, seal(OLD_RT, plaintext, context=b""), context=b"") == plaintext


@pytest.mark.parametrize(
    ("token", "context"),
    [
        (OTHER_RT, CONTEXT),
        (OLD_RT[:-1], CONTEXT),
        (OLD_RT + "x", CONTEXT),
        (OLD_RT.upper(), CONTEXT),
        (OLD_RT, CONTEXT[:-1]),
        (OLD_RT, CONTEXT + b"\x00"),
        (OLD_RT, b""),
        ("", CONTEXT),
    ],
)
def test_wrong_token_or_context_is_none(token: str, context: bytes) -> None:
    blob = seal(OLD_RT, PAIR, context=CONTEXT)
    assert open_sealed(token, blob, context=context) is None


def test_every_flipped_byte_is_none() -> None:
    blob = seal(OLD_RT, PAIR, context=CONTEXT)
    results = []
    for i in range(len(blob)):
        tampered = bytearray(blob)
        tampered[i] ^= 0x01
        results.append(open_sealed(OLD_RT, bytes(tampered), context=CONTEXT))
    assert results == [None] * len(blob)


@pytest.mark.parametrize("cut", [0, 1, 12, 27, 28])
def test_truncated_blob_is_none(cut: int) -> None:
    blob = seal(OLD_RT, PAIR, context=CONTEXT)
    assert open_sealed(OLD_RT, blob[:cut], context=CONTEXT) is None


def test_extended_blob_is_none() -> None:
    blob = seal(OLD_RT, PAIR, context=CONTEXT)
    assert open_sealed(OLD_RT, blob + b"\x00", context=CONTEXT) is None


def test_sealing_under_an_empty_token_is_refused() -> None:
    with pytest.raises(ValueError):
        seal("", PAIR, context=CONTEXT)
