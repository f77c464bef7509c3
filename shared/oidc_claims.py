"""Which user claims an ID token and UserInfo carry (OpenID Connect Core 1.0 §5.1, §5.4, §5.5): pure.

The scope decides what may be released (``profile``: ``name``; ``email``: ``email`` and
``email_verified``), in this one place. UserInfo answers every claim the scope allows. The ID token
carries the identity claims only, plus those of the allowed claims the authorization request's
``claims`` parameter asked into it (member ``id_token``). A ``claims`` request never widens what the
scope (what the user saw and consented to) allows. ``email_verified`` is false: Mavio does not verify
addresses yet, so no relying party may link accounts on one.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any, Final

import msgspec

from shared.accounts.records import AccountRecord

OPENID: Final = "openid"
SCOPE_CLAIMS: Final[dict[str, tuple[str, ...]]] = {
    "profile": ("name",),
    "email": ("email", "email_verified"),
}
USER_CLAIMS: Final = ("name", "email", "email_verified")
# Every claim a token or UserInfo may carry (discovery's ``claims_supported``).
CLAIMS_SUPPORTED: Final = (
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "sid",
    *USER_CLAIMS,
)


def has_openid(scope: str) -> bool:
    return OPENID in scope.split()


def allowed(scope: str) -> list[str]:
    """The user claims ``scope`` releases, in ``USER_CLAIMS`` order."""
    names = {claim for s in scope.split() for claim in SCOPE_CLAIMS.get(s, ())}
    return [c for c in USER_CLAIMS if c in names]


def requested(claims_request: str, member: str) -> set[str]:
    """The user claims the ``claims`` parameter (§5.5, stored as JSON) asks into ``member``
    (``id_token`` or ``userinfo``); nothing for a request that is absent or not a JSON object."""
    if not claims_request:
        return set()
    try:
        parsed: Any = msgspec.json.decode(claims_request)
    except msgspec.DecodeError:
        return set()
    asked = parsed.get(member) if isinstance(parsed, dict) else None
    return {c for c in asked if c in USER_CLAIMS} if isinstance(asked, dict) else set()


def user_claims(account: AccountRecord | None, names: list[str]) -> dict[str, Any]:
    """``names`` of the account's claims (a deleted account has none)."""
    if account is None:
        return {}
    values: dict[str, Any] = {"name": account.name, "email": account.email, "email_verified": False}
    return {n: values[n] for n in names if n != "name" or account.name}


def at_hash(access_token: str) -> str:
    """§3.1.3.6: base64url of the left half of the access token's SHA-256 (RS256 and ES256 both hash
    with SHA-256)."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).decode().rstrip("=")
