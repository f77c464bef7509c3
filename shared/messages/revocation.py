"""Messages of the revocation service (the parts other services call today)."""

from __future__ import annotations

import msgspec


class RevokeAppRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Subject ``subjects.REVOCATION_REVOKE_APP``: revoke every code, access and refresh token of
    the app at once, checking no ownership. An owner's "revoke all tokens" goes to the registry
    (``RevokeAppTokensRequest``), which checks it and queues the ``RevokeApp`` command."""

    client_id: str
    reason: str  # app_revoke_all | app_deleted
    actor: str = ""  # the owner's user id, for the audit trail


class RevokeAppReply(msgspec.Struct, frozen=True, kw_only=True):
    families_revoked: int


class RevokeTokenRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Subject ``subjects.REVOCATION_REVOKE``: ``POST /oauth/revoke`` (RFC 7009 §2.1) after the gateway
    parsed the form; the revocation service authenticates the client through the registry."""

    client_id: str
    client_secret: str
    token: str  # ``token_type_hint`` is not carried: the token's prefix names its kind


class RevokeTokenReply(msgspec.Struct, frozen=True, kw_only=True):
    """Internal only: the HTTP answer is 200 either way (RFC 7009 §2.2: no oracle)."""

    revoked: bool


class RevokeGrantRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Subject ``subjects.REVOCATION_REVOKE_GRANT``: the signed-in user revokes a connected app."""

    user_id: str
    client_id: str


class RevokeGrantReply(msgspec.Struct, frozen=True, kw_only=True):
    families_revoked: int


class RevokeUserAccessRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Subject ``subjects.REVOCATION_REVOKE_USER_ACCESS`` (of the bus users only the operator CLI's may
    publish it): end a user's access to one app, or to every app they authorized (``client_id`` "")."""

    user_id: str
    client_id: str = ""
    actor: str = "operator"  # for the audit trail


class RevokeUserAccessReply(msgspec.Struct, frozen=True, kw_only=True):
    client_ids: list[str]  # the apps whose grant was revoked
    families_revoked: int


class ConnectedAppsRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Subject ``subjects.REVOCATION_CONNECTED_APPS``: the apps a user has a live grant for."""

    user_id: str


class ConnectedApp(msgspec.Struct, frozen=True, kw_only=True):
    client_id: str
    name: str
    has_logo: bool
    logo_version: int  # the app's updated_at, to bust the logo's browser cache
    scopes: list[str]  # granted scopes, catalog order
    authorized_at: int  # epoch seconds
    last_used_at: int = 0  # epoch seconds; 0 = never


class ConnectedAppsReply(msgspec.Struct, frozen=True, kw_only=True):
    apps: list[ConnectedApp]


class PlanChangedRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Subject ``subjects.REVOCATION_PLAN_CHANGED`` (Mavio billing): the account now has ``plan``;
    narrow every grant of the user to the scopes that plan includes."""

    user_id: str
    plan: str  # free | pro | business
    actor: str = "billing"  # for the audit trail


class PlanChangedReply(msgspec.Struct, frozen=True, kw_only=True):
    families_narrowed: int
    families_revoked: int
    grants_narrowed: int
    grants_revoked: int
