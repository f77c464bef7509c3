"""Events published on ``mavio.oauth.v1.events.<noun>.<past-verb>`` (see ``shared.subjects``).

A tagged union (tag field ``kind``): subscribers decode ``Event`` and ``match`` on the type.
Never a raw token or secret: events carry families (token lineages), client and user ids.
Events about an app (creation, edits, secret rotations, revocations, reuse, deletion, narrowing) are
also written to its JetStream audit trail, each with its ``actor``.
"""

from __future__ import annotations

import msgspec

# Who caused an event (``actor``): a user id (the app's owner, or the user who revoked a connected app),
# or one of these.
SYSTEM = "system"  # the server itself: reuse detection, expiry
BILLING = "billing"  # Mavio billing: a plan change requested on the bus
OPERATOR = "operator"  # the operator CLI (``mavio-oauth users set-plan``)
CLIENT = "client"  # the app itself, with its credentials: RFC 7009 revocation


class _Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind"):
    at: float  # epoch seconds
    client_id: str
    actor: str = ""  # who caused it (see above); "" from older publishers


class TokensRevoked(_Event, tag="tokens.revoked", kw_only=True, frozen=True):
    """Tokens of these families are invalid from now on (verification caches evict them)."""

    families: list[str]
    user_id: str = ""
    reason: str  # rfc7009 | app_revoke_all | app_deleted | user_revoked | code_reused | refresh_reused | plan
    # | leaked (a secret-scanning report or the owner's leak report named a token of these families)
    # | operator (an operator ended the user's access to the app: revoke_grant with this reason)
    url: str = ""  # leaked: where the credential was found
    # The users whose families these are, when ``user_id`` is empty (an app's "revoke all tokens"): each
    # user's grant gets its own webhook (``services.webhooks``). Empty from older publishers.
    users: list[str] = []
    # The user's grant to the app ended with these families (a user's, an operator's or a plan's
    # revocation of the grant), not only some of its tokens (a plan's cut of pending codes).
    grant_ended: bool = False


class RefreshReused(_Event, tag="refresh.reused", kw_only=True, frozen=True):
    family: str
    user_id: str


class RefreshReplayed(_Event, tag="refresh.replayed", kw_only=True, frozen=True):
    """A rotated refresh token presented again within ``MAVIO_REFRESH_REPLAY_WINDOW`` (audit).

    Not suspicious: it asked for the scope the rotation issued and got the same successor pair.
    Suspicious: it asked for another scope (``requested``) and was refused; nothing was revoked."""

    family: str
    user_id: str
    scope: str  # the scope the rotation issued
    requested: str = ""  # the scope the replay asked for ("" = the token's own)
    suspicious: bool = False


class CodeReused(_Event, tag="code.reused", kw_only=True, frozen=True):
    """A used code presented again by the client it was issued to: its family is revoked."""

    family: str
    user_id: str
    presenting_client: str = ""  # the authenticated client that presented it ("" from older publishers)


class SecretRegenerated(_Event, tag="secret.regenerated", kw_only=True, frozen=True):
    keep_old_until: int = 0


class CredentialLeaked(_Event, tag="credential.leaked", kw_only=True, frozen=True):
    """A credential of this app was reported found in public (secret scanning or its owner) and acted on.

    ``credential_type``: ``access_token`` | ``refresh_token`` | ``client_secret``; ``token_hash`` is the
    SHA-256 (hex) of the raw string, never the string. A leaked token's grant revocation is a separate
    ``TokensRevoked`` (reason ``leaked``); a leaked client secret is invalidated at once."""

    credential_type: str
    token_hash: str
    url: str = ""
    source: str = ""


class AppCreated(_Event, tag="app.created", kw_only=True, frozen=True):
    """An app was registered (audit only: no cache holds an app that did not exist)."""


class AppChanged(_Event, tag="app.changed", kw_only=True, frozen=True):
    fields: list[str] = []  # what an edit changed: name, description, homepage_url, redirect_uris, ...


class AppDeleted(_Event, tag="app.deleted", kw_only=True, frozen=True):
    pass


class GrantExpired(_Event, tag="grant.expired", kw_only=True, frozen=True):
    family: str
    user_id: str


class ScopesNarrowed(_Event, tag="scopes.narrowed", kw_only=True, frozen=True):
    """A user's plan changed: these families now carry fewer scopes."""

    user_id: str
    families: list[str]
    scope: str
    removed_scopes: list[str] = []  # what the change took away ("" from older publishers)


class PlanChanged(_Event, tag="plan.changed", kw_only=True, frozen=True):
    """An operator changed a user's plan (``mavio-oauth users set-plan``); ``client_id`` is empty.

    Published on ``subjects.EVENT_PLAN_CHANGED`` so grants can be narrowed to the new plan.
    """

    user_id: str
    plan: str
    previous_plan: str


Event = (
    AppCreated
    | CredentialLeaked
    | TokensRevoked
    | RefreshReused
    | RefreshReplayed
    | CodeReused
    | SecretRegenerated
    | AppChanged
    | AppDeleted
    | GrantExpired
    | ScopesNarrowed
    | PlanChanged
)
