"""Messages of the revocation service (the parts other services call today)."""

from __future__ import annotations

import msgspec


class RevokeAppRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Subject ``subjects.REVOCATION_REVOKE_APP``: revoke every code, access and refresh token of
    the app at once. The caller has already checked that the acting user owns the app."""

    client_id: str
    reason: str  # app_revoke_all | app_deleted


class RevokeAppReply(msgspec.Struct, frozen=True, kw_only=True):
    families_revoked: int
