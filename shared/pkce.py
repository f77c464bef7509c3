"""Rule: PKCE ``S256`` (RFC 7636 §4.1, §4.2, §4.6): the challenge of a verifier, and the token
endpoint's check of a verifier against the challenge the authorization request carried."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Final

# RFC 7636 §4.1: code-verifier = 43*128unreserved, unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"
_VERIFIER: Final = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


def s256_challenge(verifier: str) -> str:
    """``BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))`` without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def is_verifier(verifier: str) -> bool:
    """Whether ``verifier`` is within the §4.1 grammar (43 to 128 unreserved characters)."""
    return _VERIFIER.fullmatch(verifier) is not None


def verify_s256(verifier: str, challenge: str) -> bool:
    """Whether BASE64URL-NOPAD(SHA256(ASCII(verifier))) equals ``challenge`` (RFC 7636 §4.6).

    A verifier outside the §4.1 grammar never matches.
    """
    if not isinstance(verifier, str) or not isinstance(challenge, str) or not challenge.isascii():
        return False
    if not is_verifier(verifier):
        return False
    return hmac.compare_digest(s256_challenge(verifier).encode("ascii"), challenge.encode("ascii"))
