"""An ID token's signature checked against Mavio's published keys, expired or not: what
``id_token_hint`` needs (OpenID Connect Core 1.0 §3.1.2.1; RP-Initiated Logout 1.0 §2, §4, where an
expired hint is still a hint). It proves who the token names and for which client; it is never a
proof of a current sign-in. Verification is joserfc's.
"""

from __future__ import annotations

import time
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet as JWKSet

from shared.signing.keyset import ALGS, published
from shared.signing.store import SigningKeyStore
from shared.store import Redis


def claims_if_signed(token: str, jwks: dict[str, Any], *, issuer: str) -> dict[str, Any] | None:
    """The claims of ``token`` when one of ``jwks``'s keys signed it (RS256 or ES256) and its ``iss`` is
    ``issuer``; ``exp`` is NOT checked. None for anything else (malformed, unknown key, bad signature)."""
    try:
        keyset = JWKSet.import_key_set(jwks)  # type: ignore[arg-type]  # checked by joserfc
        claims = jwt.decode(token, keyset, algorithms=list(ALGS)).claims
    except (JoseError, ValueError, TypeError, KeyError):
        return None
    if claims.get("iss") != issuer or not isinstance(claims.get("sub"), str):
        return None
    return dict(claims)


async def id_token_hint_claims(
    redis: Redis, token: str, *, issuer: str, id_token_ttl: int, now: int | None = None
) -> dict[str, Any] | None:
    """``claims_if_signed`` against the keys the JWKS publishes now (``Settings.id_token_lifetime``
    for ``id_token_ttl``; a key retired longer ago than that has left, and its tokens with it)."""
    keyset = await SigningKeyStore(redis).load()
    if keyset is None:
        return None
    at = int(time.time()) if now is None else now
    return claims_if_signed(token, published(keyset, now=at, id_token_ttl=id_token_ttl), issuer=issuer)
