"""Mavio secret formats: generate, checksum, parse and HMAC-sign tokens (pure; no I/O).

Every secret artefact reads ``mavio_<kind>_<body>`` (fosite's prefixed HMAC strategy, GitHub-style checksums):

* ``at`` / ``rt`` / ``code`` / ``dc`` (an RFC 8628 device code): body = family (16 base62) + secret
  (32 base62, ~190 bits) + checksum (6 base62).
  The family is shared by every code and token descended from one authorization; it routes all of the
  family's Redis keys to one Cluster hash slot. It is an identifier, not a secret.
* ``cs`` (client secret): body = secret (40 base62, ~238 bits) + checksum (6 base62).

The checksum is CRC32 (``zlib.crc32``) of everything before it, prefix included, base62-encoded and
left-padded to 6 characters: a mistyped or truncated token is rejected without a Redis round trip, and
secret scanners can recognise a leaked one. CRC32 is not a MAC; authenticity comes from the stored
``Signer.sign(token)`` — the server keeps that signature, never the token.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import string
import zlib
from collections.abc import Callable
from typing import Final, Literal, NamedTuple

ALPHABET: Final = string.digits + string.ascii_uppercase + string.ascii_lowercase
FAMILY_LEN: Final = 16
SECRET_LEN: Final = 32
CLIENT_SECRET_LEN: Final = 40
CHECKSUM_LEN: Final = 6
CLIENT_ID_LEN: Final = 16
CLIENT_ID_PREFIX: Final = "mavio_client_"
CLIENT_SECRET_PREFIX: Final = "mavio_cs_"
MIN_SIGNING_KEY_LEN: Final = 32

TokenKind = Literal["at", "rt", "code", "dc"]

_PREFIXES: Final[dict[str, str]] = {kind: f"mavio_{kind}_" for kind in ("at", "rt", "code", "dc")}
_LENGTHS: Final[dict[str, int]] = {
    kind: len(prefix) + FAMILY_LEN + SECRET_LEN + CHECKSUM_LEN for kind, prefix in _PREFIXES.items()
}
_CLIENT_SECRET_TOTAL: Final = len(CLIENT_SECRET_PREFIX) + CLIENT_SECRET_LEN + CHECKSUM_LEN

# The one pattern of a Mavio secret in text, used by the log redactor (``shared.logging.redact_text``).
# Deliberately looser than the exact formats (no length cap, no checksum): redaction should also catch
# truncated or mistyped secrets. A family alone (16 chars) is the shortest run worth redacting.
SECRET_PATTERN: Final = re.compile(r"mavio_(at|rt|code|dc|cs)_[0-9A-Za-z]{16,}")

_PAIRS: Final = tuple(a + b for a in ALPHABET for b in ALPHABET)  # the 3844 two-digit base62 numerals
# Random base62 from random bytes: a byte below 248 (4 x 62) is digit ``byte % 62``, uniformly; a byte
# of 248..255 is dropped (rejection sampling, so no digit is likelier than another).
_ACCEPTED: Final = 4 * len(ALPHABET)
_REJECTED: Final = bytes(range(_ACCEPTED, 256))
_DIGIT_OF_BYTE: Final = bytes(ord(ALPHABET[b % len(ALPHABET)]) for b in range(256))


class ParsedToken(NamedTuple):
    """The routing facts of a well-formed token; the secret part is never returned."""

    kind: str
    family: str


def _random_b62(width: int, randbytes: Callable[[int], bytes] = os.urandom) -> str:
    """``width`` independent, uniformly random base62 digits (from the OS's CSPRNG)."""
    digits = b""
    while len(digits) < width:  # 8 spare bytes: short (and topped up) about once in 300,000 tokens
        digits += randbytes(width - len(digits) + 8).translate(None, _REJECTED)
    return digits[:width].translate(_DIGIT_OF_BYTE).decode("ascii")


def _checksum(head: str) -> str:
    """CRC32 of ``head`` as 6 base62 digits, two at a time from a table (this is the parse hot path)."""
    high, low = divmod(zlib.crc32(head.encode("ascii")), 3844)
    high, mid = divmod(high, 3844)  # CRC32 < 2**32 < 62**6, so high < 62**2
    return _PAIRS[high] + _PAIRS[mid] + _PAIRS[low]


def _is_b62(value: str, length: int) -> bool:
    return len(value) == length and value.isascii() and value.isalnum()


def new_family_id() -> str:
    """A fresh family id: 16 random base62 characters."""
    return _random_b62(FAMILY_LEN)


def mint(kind: TokenKind, family: str) -> str:
    """A new ``mavio_<kind>_`` token of ``family`` with 32 fresh random base62 characters."""
    prefix = _PREFIXES.get(kind)
    if prefix is None:
        raise ValueError(f"unknown token kind {kind!r}")
    if not isinstance(family, str) or not _is_b62(family, FAMILY_LEN):
        raise ValueError("family must be 16 base62 characters")
    head = prefix + family + _random_b62(SECRET_LEN)
    return head + _checksum(head)


def mint_access_and_refresh(family: str) -> tuple[str, str]:
    """A new access token and refresh token of ``family`` (as ``mint`` makes each), their 64 random
    characters from one read of the OS's CSPRNG instead of two: a token pair per request is the hot path."""
    if not isinstance(family, str) or not _is_b62(family, FAMILY_LEN):
        raise ValueError("family must be 16 base62 characters")
    secret = _random_b62(2 * SECRET_LEN)  # independent uniform digits: each half is a token's own
    access = _PREFIXES["at"] + family + secret[:SECRET_LEN]
    refresh = _PREFIXES["rt"] + family + secret[SECRET_LEN:]
    return access + _checksum(access), refresh + _checksum(refresh)


def parse(token: str, kind: str | None = None) -> ParsedToken | None:
    """Kind and family of a well-formed at/rt/code token, or None when it is malformed.

    ``kind`` pins the expected kind (a refresh token presented as an access token is None); it must be
    one of ``at``, ``rt``, ``code``, ``dc`` — client secrets are checked by ``check_client_secret_format``.
    Well-formed is not valid: the caller still looks the signature up.
    """
    if not isinstance(token, str):
        return None
    if kind is None:
        end = token.find("_", 6, 11) if token.startswith("mavio_") else -1
        kind = token[6:end] if end > 0 else ""
        prefix = _PREFIXES.get(kind)
        if prefix is None:
            return None
    else:
        prefix = _PREFIXES.get(kind)
        if prefix is None:
            raise ValueError(f"unknown token kind {kind!r}")
        if not token.startswith(prefix):
            return None
    if len(token) != _LENGTHS[kind]:
        return None
    body = token[len(prefix) :]
    if not (body.isascii() and body.isalnum()):
        return None
    if _checksum(token[:-CHECKSUM_LEN]) != token[-CHECKSUM_LEN:]:
        return None
    return ParsedToken(kind, body[:FAMILY_LEN])


def mint_client_secret() -> str:
    """A new ``mavio_cs_`` client secret: 40 random base62 characters and a checksum."""
    head = CLIENT_SECRET_PREFIX + _random_b62(CLIENT_SECRET_LEN)
    return head + _checksum(head)


def check_client_secret_format(value: str) -> bool:
    """Whether ``value`` is shaped like a Mavio client secret with a correct checksum."""
    return (
        isinstance(value, str)
        and len(value) == _CLIENT_SECRET_TOTAL
        and value.startswith(CLIENT_SECRET_PREFIX)
        and value.isascii()
        and value[len(CLIENT_SECRET_PREFIX) :].isalnum()
        and _checksum(value[:-CHECKSUM_LEN]) == value[-CHECKSUM_LEN:]
    )


def new_client_id() -> str:
    """A new public client identifier: ``mavio_client_`` + 16 random base62 characters."""
    return CLIENT_ID_PREFIX + _random_b62(CLIENT_ID_LEN)


def is_client_id(value: str) -> bool:
    """Whether ``value`` is shaped like a Mavio client id (no checksum: client ids are not secret)."""
    return (
        isinstance(value, str)
        and value.startswith(CLIENT_ID_PREFIX)
        and _is_b62(value[len(CLIENT_ID_PREFIX) :], CLIENT_ID_LEN)
    )


class Signer:
    """HMAC-SHA256 of tokens under a server key: the value Redis stores and keys by (never the token)."""

    __slots__ = ("_keyed",)

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes):
            raise TypeError("signing key must be bytes")
        if len(key) < MIN_SIGNING_KEY_LEN:
            raise ValueError(f"signing key must be at least {MIN_SIGNING_KEY_LEN} bytes")
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)  # keyed once; copied per token

    def __repr__(self) -> str:
        return "Signer(key=<redacted>)"

    def sign(self, token: str) -> str:
        """Lowercase hex HMAC-SHA256(key, token)."""
        mac = self._keyed.copy()
        mac.update(token.encode("utf-8"))
        return mac.hexdigest()

    def matches(self, token: str, signature: str) -> bool:
        """Whether ``signature`` is this key's signature of ``token`` (constant-time comparison)."""
        return same_signature(self.sign(token), signature)


def same_signature(signed: str, signature: str) -> bool:
    """Whether ``signature`` equals ``signed`` (a ``Signer.sign`` result), compared in constant time:
    one signature of a presented secret checked against several stored ones signs it once."""
    if not isinstance(signature, str) or not signature.isascii():
        return False
    return hmac.compare_digest(signed, signature)
