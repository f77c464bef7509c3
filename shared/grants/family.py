"""Helpers for the scripts of one family: the keys each takes and how a revocation is read back."""

from __future__ import annotations

from typing import Any

from shared.grants import keys
from shared.grants.base import text
from shared.grants.storage import Revoked


def family_keys(family: str) -> list[str]:
    """The three keys every family script takes, in this order: record, members, tombstone."""
    return [keys.family(family), keys.family_members(family), keys.family_revoked(family)]


def revoked_of(family: str, parts: list[Any]) -> Revoked:
    """A ``revoke_family`` result ({client_id, user_id, deleted, first}) as a ``Revoked``."""
    return Revoked(family, text(parts[0]), text(parts[1]), int(parts[2]), first=int(parts[3]) == 1)
