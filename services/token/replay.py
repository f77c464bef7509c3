"""Refresh-token replay window: the successor pair sealed under a key only the presenter can derive.

When a refresh token is rotated, racing requests that present the same old token get the same successor
pair, kept briefly in Redis. Redis holds only signatures of tokens, so the sealing key is derived from the
presented token itself: a dump of Redis yields nothing usable.

Blob layout: 12-byte random nonce || AES-256-GCM ciphertext and 16-byte tag. Key: HKDF-SHA256 of the
token with a fixed salt and ``info = b"mavio refresh replay v1" + context``; ``context`` (e.g. the old
token's signature) is also the associated data.
"""

from __future__ import annotations

import os
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_SALT: Final = b"mavio.oauth/refresh-replay/salt/v1"
_INFO: Final = b"mavio refresh replay v1"
_NONCE_LEN: Final = 12
_TAG_LEN: Final = 16


def _aead(presented_refresh_token: str, context: bytes) -> AESGCM:
    hkdf = HKDF(algorithm=SHA256(), length=32, salt=_SALT, info=_INFO + context)
    return AESGCM(hkdf.derive(presented_refresh_token.encode("utf-8")))


def seal(presented_refresh_token: str, plaintext: bytes, *, context: bytes) -> bytes:
    """Encrypt ``plaintext`` under a key derived from the presented (old) refresh token."""
    if not presented_refresh_token:
        raise ValueError("presented refresh token is empty")
    nonce = os.urandom(_NONCE_LEN)
    return nonce + _aead(presented_refresh_token, context).encrypt(nonce, plaintext, context)


def open_sealed(presented_refresh_token: str, blob: bytes, *, context: bytes) -> bytes | None:
    """The plaintext ``seal`` produced, or None when token, context or blob do not authenticate."""
    if not presented_refresh_token or len(blob) < _NONCE_LEN + _TAG_LEN:
        return None
    try:
        return _aead(presented_refresh_token, context).decrypt(blob[:_NONCE_LEN], blob[_NONCE_LEN:], context)
    except InvalidTag:
        return None
