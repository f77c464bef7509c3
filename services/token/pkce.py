"""PKCE ``S256`` verification at the token endpoint (RFC 7636 §4.1, §4.2, §4.6)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Final

# RFC 7636 §4.1: code-verifier = 43*128unreserved, unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"
_VERIFIER: Final = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


def verify_s256(verifier: str, challenge: str) -> bool:
    """Whether BASE64URL-NOPAD(SHA256(ASCII(verifier))) equals ``challenge`` (RFC 7636 §4.6).

    A verifier outside the §4.1 grammar never matches.
    """
    if not isinstance(verifier, str) or not isinstance(challenge, str) or not challenge.isascii():
        return False
    if _VERIFIER.fullmatch(verifier) is None:
        return False
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=")
    return hmac.compare_digest(expected, challenge.encode("ascii"))
