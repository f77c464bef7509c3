"""Secrets that must stay usable, sealed at rest: signing keys (OpenID Connect) and webhook signing
secrets are stored only as AES-256-GCM ciphertext under a key derived from ``MAVIO_KEY_ENCRYPTION_KEY``.

Each sealed value is bound to its purpose (the associated data, e.g. ``jwk:<kid>`` or
``webhook:<client_id>``), so a ciphertext copied to another record does not open there. The format is
``v1.`` + base64url(12-byte nonce + ciphertext and tag), printable for JSON records.

The cipher is the ``cryptography`` package's AESGCM; nothing here is hand-made cryptography.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = "v1."
_NONCE_BYTES = 12
_INFO = b"mavio-oauth sealing v1"


class SealError(Exception):
    """A sealed value that does not open: another key, another purpose, or damaged."""


def _derive(key_material: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO)
    return hkdf.derive(key_material)


class Sealer:
    """Seals and opens values under one key-encryption key (``Settings.encryption_key``)."""

    __slots__ = ("_aead",)

    def __init__(self, key_material: bytes) -> None:
        if len(key_material) < 32:
            raise ValueError("key-encryption key: expected at least 32 bytes of secret key material")
        self._aead = AESGCM(_derive(key_material))

    def __repr__(self) -> str:  # never show key material
        return "Sealer(<key>)"

    def seal(self, plaintext: bytes, *, purpose: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext, purpose.encode())
        return _VERSION + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def open(self, sealed: str, *, purpose: str) -> bytes:
        if not sealed.startswith(_VERSION):
            raise SealError("not a sealed value")
        body = sealed[len(_VERSION) :]
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except ValueError:
            raise SealError("not a sealed value") from None
        if len(raw) <= _NONCE_BYTES:
            raise SealError("not a sealed value")
        try:
            return self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], purpose.encode())
        except InvalidTag:
            raise SealError("sealed under another key or for another purpose, or damaged") from None
