"""The slice of the grant store the revocation service uses (``shared.grants`` owns the keys and
implements every contract; ``RedisGrantStore`` satisfies this one)."""

from __future__ import annotations

from typing import Protocol

from shared.grants.storage import (
    AccessTokenRevoker,
    AccessTokenStore,
    ConsentStore,
    FamilyNarrower,
    FamilyStore,
    IndexReader,
    IndexStore,
    PendingCodes,
    RefreshTokenStore,
)


class RevocationStore(
    AccessTokenStore,
    AccessTokenRevoker,
    RefreshTokenStore,
    FamilyStore,
    FamilyNarrower,
    IndexStore,
    IndexReader,
    PendingCodes,
    ConsentStore,
    Protocol,
):
    """Reads tokens, revokes them and their families, narrows them, and keeps indexes and grants."""
