"""Messages of the token service (RFC 6749 §4.1.3, §5.1, §6; RFC 7662 §2.2).

Requests carry client credentials because the token service authenticates the client itself (through
the registry); the gateway only extracts them from HTTP (``services.token.client_auth``). Requests are
never logged; events never carry a token or a secret.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from shared.messages.batch import BatchItem, BatchReply, BatchRequest


class ExchangeTokenRequest(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /oauth/token`` after the gateway parsed the form; empty string means absent (RFC 6749 §3.1)."""

    client_id: str
    client_secret: str
    grant_type: str
    code: str = ""
    redirect_uri: str = ""
    code_verifier: str = ""
    refresh_token: str = ""
    scope: str = ""
    device_code: str = ""  # RFC 8628 §3.4


class ExchangeTokenReply(msgspec.Struct, frozen=True, kw_only=True):
    """The successful access token response, exactly these fields (RFC 6749 §5.1)."""

    access_token: str
    refresh_token: str
    token_type: str = "Bearer"
    expires_in: int
    scope: str
    # OpenID Connect Core 1.0 §3.1.3.3: present only when the scope holds ``openid``
    id_token: str | msgspec.UnsetType = msgspec.UNSET


class VerifyTokenRequest(msgspec.Struct, frozen=True, kw_only=True):
    """``mavio.oauth.v1.token.verify``: is this bearer token active?"""

    token: str


# ``mavio.oauth.v1.token.verify_many``: at most this many tokens per message, each at most this long (a
# Mavio token is 63 characters); a message beyond either is refused whole (``invalid_request``).
MAX_VERIFY_MANY = 256
MAX_VERIFY_TOKEN_CHARS = 512


class VerifyManyRequest(msgspec.Struct, frozen=True, kw_only=True):
    """``mavio.oauth.v1.token.verify_many``: are these bearer tokens active? Answered in the same order."""

    tokens: Annotated[
        list[Annotated[str, msgspec.Meta(max_length=MAX_VERIFY_TOKEN_CHARS)]],
        msgspec.Meta(max_length=MAX_VERIFY_MANY),
    ]


class Introspection(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """RFC 7662 §2.2 response: ``{"active": false}`` alone, or every claim of an active token."""

    active: bool
    client_id: str | None = None
    sub: str | None = None
    scope: str | None = None
    exp: int | None = None
    iat: int | None = None
    token_type: str | None = None


class VerifyManyReply(msgspec.Struct, frozen=True, kw_only=True):
    """The RFC 7662 §2.2 answer of each token of a ``VerifyManyRequest``, in its order."""

    answers: list[Introspection]


class IntrospectTokenRequest(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /oauth/introspect`` (RFC 7662 §2.1) by an authenticated client, about its own tokens."""

    client_id: str
    client_secret: str
    token: str  # ``token_type_hint`` is not carried: the token's prefix names its kind


# The most calls one ``token.calls`` report may count for one app: a verifier reports every second, and
# a larger count is not a real one (``shared.verify_client`` carries the rest over to its next report).
MAX_CALLS_PER_APP = 100_000


class ReportCallsRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Verifications a resource server answered from its local cache: client id -> count (API-call stats).

    At most ``MAVIO_CALLS_REPORT_MAX`` apps (default 1000), each counted 1 to ``MAX_CALLS_PER_APP``
    times; anything else is refused whole (``invalid_request``). Ids of apps that do not exist (any
    more) are ignored."""

    calls: dict[str, int]


class UserInfoRequest(msgspec.Struct, frozen=True, kw_only=True):
    """``GET``/``POST /oauth/userinfo`` (OpenID Connect Core 1.0 §5.3): the bearer access token."""

    token: str


class SigningKeysRequest(msgspec.Struct, frozen=True, kw_only=True):
    """``mavio.oauth.v1.token.keys.list`` and ``...keys.rotate`` (``mavio-oauth keys``): no fields."""


class SigningKeyInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One signing key as the operator sees it: never any key material."""

    kid: str
    alg: str
    state: str  # current | next | retired
    created_at: int
    retired_at: int = 0
    published: bool = True  # still in the JWKS (a retired key leaves once its ID tokens have expired)


class SigningKeysReply(msgspec.Struct, frozen=True, kw_only=True):
    keys: list[SigningKeyInfo]


class SigningKeysRotated(msgspec.Struct, frozen=True, kw_only=True):
    """``mavio.oauth.v1.events.signing_keys.rotated``: every token replica loads the new current keys.
    Live only (not an app's event, not audited); it carries key ids, never key material."""

    at: float
    current: list[str]  # the kids now current


# ``mavio.oauth.v1.token.exchange_many``: many token-endpoint requests in one message, each answered as
# ``token.exchange`` answers it (``shared.messages.batch``; the gateway's ``token_batch``).
ExchangeTokensRequest = BatchRequest[ExchangeTokenRequest]
ExchangeTokensReply = BatchReply[ExchangeTokenReply]
ExchangeTokenItem = BatchItem[ExchangeTokenRequest]
