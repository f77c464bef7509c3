"""Check an ID token's signature against Mavio's signing keys, its expiry not required (for
``id_token_hint``: OpenID Connect Core 1.0 §3.1.2.1, RP-Initiated Logout 1.0 §4).

The one seam between the authorization side and the signing keys: until the keys exist, nothing
verifies (a hint then names nobody).
"""

from __future__ import annotations

from typing import Any

from shared.config import Settings
from shared.signing.verify import id_token_hint_claims
from shared.store import Redis


async def verify_ignoring_expiry(redis: Redis, settings: Settings, token: str) -> dict[str, Any] | None:
    """The token's claims when its signature verifies against a key of the JWKS; None otherwise."""
    return await id_token_hint_claims(
        redis, token, issuer=settings.public_url, id_token_ttl=settings.id_token_lifetime
    )
