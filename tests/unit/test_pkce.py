"""PKCE S256 verification (services/token/pkce.py, RFC 7636)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from shared.pkce import verify_s256

# RFC 7636 Appendix B.
RFC_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def test_rfc7636_appendix_b_vector() -> None:
    assert verify_s256(RFC_VERIFIER, RFC_CHALLENGE) is True


@pytest.mark.parametrize(
    ("verifier", "challenge"),
    [
        # two characters off the RFC verifier ("1p1r_" -> "2p1r-"): a near miss must not verify
        ("dBjftJeZ4CVP-mB92K27uhbUJU2p1r-wW1gFWFOEjXk", RFC_CHALLENGE),
        (RFC_VERIFIER, RFC_CHALLENGE + "="),  # padded challenge
        (RFC_VERIFIER, RFC_CHALLENGE[:-1]),
        (RFC_VERIFIER, RFC_CHALLENGE.lower()),
        (RFC_VERIFIER, RFC_VERIFIER),  # the "plain" method is not S256
        (RFC_VERIFIER, ""),
        (RFC_VERIFIER, RFC_CHALLENGE[:-1] + "é"),
        (RFC_CHALLENGE, RFC_VERIFIER),  # swapped arguments
    ],
)
def test_mismatches(verifier: str, challenge: str) -> None:
    assert verify_s256(verifier, challenge) is False


@pytest.mark.parametrize(
    ("verifier", "valid"),
    [
        ("a" * 42, False),
        ("a" * 43, True),
        ("a" * 128, True),
        ("a" * 129, False),
        ("Az09-._~" * 6, True),
        ("a" * 42 + "+", False),
        ("a" * 42 + "/", False),
        ("a" * 42 + "=", False),
        ("a" * 42 + " ", False),
        ("a" * 42 + "%", False),
        ("a" * 42 + "é", False),
        ("a" * 42 + "\u0663", False),  # ARABIC-INDIC DIGIT THREE
        ("a" * 43 + "\n", False),
        ("", False),
    ],
)
def test_verifier_grammar(verifier: str, valid: bool) -> None:
    """RFC 7636 §4.1: 43-128 unreserved characters; otherwise even the right hash does not verify."""
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("utf-8")).digest()).rstrip(b"=")
    assert verify_s256(verifier, challenge.decode()) is valid


def test_random_verifiers_round_trip() -> None:
    import secrets

    for _ in range(100):
        verifier = secrets.token_urlsafe(64)
        assert verify_s256(verifier, _challenge(verifier)) is True
        assert verify_s256(verifier, _challenge(verifier + "x")) is False


@pytest.mark.parametrize(
    ("verifier", "challenge"), [(None, RFC_CHALLENGE), (RFC_VERIFIER, None), (b"x" * 43, "")]
)
def test_non_str_is_false(verifier: object, challenge: object) -> None:
    assert verify_s256(verifier, challenge) is False  # type: ignore[arg-type]
