"""Records stored in Redis (JSON), shared by the services that write and read them.

Contract: a record never holds a raw code, token or secret; keys come from ``shared.grants.keys``.
Within a version only additive changes (new fields get defaults; types never change).
"""

from __future__ import annotations

import msgspec


class CodeRecord(msgspec.Struct, frozen=True, kw_only=True):
    """An authorization code (RFC 6749 §4.1.2), written by authorize, consumed by token.

    Key: ``keys.code(family, sign(code))``, TTL ``MAVIO_CODE_TTL``.
    """

    family: str
    client_id: str
    user_id: str
    redirect_uri: str
    scope: str  # granted scopes, space-separated, catalog order
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    issued_at: int
    expires_at: int
    # False when the authorize request omitted redirect_uri (one registered URI): the token request may
    # then omit it too (RFC 6749 §4.1.3). True (the default) makes it required at the token endpoint.
    redirect_uri_given: bool = True
    # OpenID Connect (Core 1.0 §3.1.2.1, §2): what the ID token issued for this code carries.
    nonce: str = ""  # the authorization request's nonce, exactly as sent ("" = none sent)
    auth_time: int = 0  # epoch seconds of the user's last actual sign-in (the session's)
    sid: str = ""  # the sign-in session's id as the ID token's ``sid`` (never the session cookie)
    claims: str = ""  # the request's ``claims`` parameter (JSON, validated), "" = none


class OidcSession(msgspec.Struct, frozen=True, kw_only=True):
    """What every ID token of a family repeats (OpenID Connect Core 1.0 §12.2: on refresh the same
    ``auth_time``; ``sid``; the ``claims`` request), kept in the family record (field ``oidc``) from
    its code exchange when the scope holds ``openid``. The nonce is not kept: only the first ID token
    carries it."""

    auth_time: int = 0
    sid: str = ""
    claims: str = ""


def oidc_session(record: CodeRecord) -> OidcSession:
    return OidcSession(auth_time=record.auth_time, sid=record.sid, claims=record.claims)


class GrantRecord(msgspec.Struct, frozen=True, kw_only=True):
    """What a user granted an app (user x app), for stats and the connected-apps page.

    Key: field ``client_id`` of hash ``keys.user_grants(user_id)``; written at consent.
    """

    client_id: str
    scope: str
    authorized_at: int
    last_used_at: int = 0
    # The family of the latest authorization's code: while that code may still be exchanged, the grant
    # is live without a token (``shared.grants.active``). "" in records written before it existed.
    code_family: str = ""


class AccessTokenRecord(msgspec.Struct, frozen=True, kw_only=True):
    """Key ``keys.access_token(family, sign(token))``, TTL = expires_at - now."""

    family: str
    client_id: str
    user_id: str
    scope: str
    issued_at: int
    expires_at: int


class RefreshTokenRecord(msgspec.Struct, frozen=True, kw_only=True):
    """Key ``keys.refresh_token(family, sign(token))``; TTL slides to MAVIO_REFRESH_TOKEN_TTL on use."""

    family: str
    client_id: str
    user_id: str
    scope: str
    issued_at: int
    rotated_at: int = 0  # non-zero once exchanged for a successor: a later use is reuse
    expires_at: int = 0  # fixed per token (a successor gets a fresh MAVIO_REFRESH_TOKEN_TTL); 0 = unknown


class DeviceRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A device authorization request (RFC 8628 §3.1-3.2), written by token, decided by authorize.

    Key: ``keys.device(family, sign(device_code))`` (a hash of these fields), TTL twice ``expires_at -
    requested_at``; the user code is kept only as ``keys.user_code(sign(user_code))``. On Authorize the
    approval is a ``CodeRecord`` stored under ``keys.code(family, sign(device_code))``, so revocations and
    plan changes reach it as they reach any code not exchanged yet.
    """

    family: str
    client_id: str
    scope: str  # requested, checked against the app's registered scopes, catalog order
    requested_at: int
    expires_at: int
    address: str = ""  # the network address the device asked from (shown on the consent page)
