"""The redirectable checks of ``GET /oauth/authorize``: RFC 6749 §3.1, §3.3, §4.1.1; RFC 7636 §4.2-4.3.

Pure functions, no I/O. Order of use by the handler:

1. ``client_id_from(query)`` then look the app up (not found: ``UnknownClient()``);
2. ``resolve_redirect_uri(app, query)``;
3. ``check_request(app, redirect_uri, query, catalog=...)``, then ``check_plan`` once the user is known.

Errors from steps 1-2 never redirect (``is_redirectable`` is false); every error raised here is sent to
the redirect URI with ``error_redirect(redirect_uri, error, state_from(query))``.

Decisions: ``scope`` is required (RFC 6749 §3.3 lets the server fail instead of using a default, and we
define no default scope); ``plain`` PKCE is refused and a challenge without a method is refused, since
RFC 7636 §4.3 defaults the method to plain; PKCE is optional unless the app requires it (its
``require_pkce`` setting) or is public (RFC 9700 §2.1.1: always, for an app without a secret): then a
request without ``code_challenge`` is ``invalid_request``. Only the parameters below (and OpenID
Connect's, ``oidc.check_oidc``) are checked for repeats; unknown ones are ignored.
"""

from __future__ import annotations

import re
from typing import Protocol

import msgspec

from services.authorize.oidc import OidcRequest, check_oidc
from services.authorize.redirect_match import resolve_redirect_uri
from services.authorize.redirects import (
    Query,
    RegisteredApp,
    client_id_from,
    code_redirect,
    error_redirect,
    query_values,
    single_values,
)
from shared.apps.settings import PUBLIC
from shared.errors import InvalidRequest, InvalidScope, UnsupportedResponseType
from shared.scopes import ScopeCatalog, requested_scopes

__all__ = [
    "AUTHORIZE_PARAMETERS",
    "MAX_STATE_LENGTH",
    "AuthorizationRequest",
    "CheckedApp",
    "RegisteredApp",
    "check_no_repeats",
    "check_pkce",
    "check_plan",
    "check_request",
    "check_response_type",
    "check_scope",
    "check_state",
    "client_id_from",
    "code_redirect",
    "error_redirect",
    "resolve_redirect_uri",
    "state_from",
]

AUTHORIZE_PARAMETERS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)
MAX_STATE_LENGTH = 2048
PKCE_REQUIRED = "code_challenge is required: this app requires PKCE with S256 (RFC 7636)"
PUBLIC_PKCE_REQUIRED = "code_challenge is required: a public client must use PKCE with S256 (RFC 9700 2.1.1)"

# RFC 7636 §4.2: code-challenge = 43*128unreserved; an S256 challenge is 32 bytes, base64url, unpadded.
_CHALLENGE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_S256_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")


class CheckedApp(RegisteredApp, Protocol):
    """What ``check_request`` reads of an app: its redirect URIs and scopes, and its PKCE setting."""

    @property
    def require_pkce(self) -> bool:
        """Whether every authorization request must carry a ``code_challenge``."""
        ...

    @property
    def client_type(self) -> str:
        """``confidential`` or ``public``: a public app always needs a ``code_challenge``."""
        ...


class AuthorizationRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A checked authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3); scopes in catalog order."""

    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    redirect_uri_given: bool = True  # False when omitted (one registered URI): RFC 6749 §4.1.3
    oidc: OidcRequest = msgspec.field(default_factory=OidcRequest)  # OpenID Connect Core §3.1.2.1


def check_request(
    app: CheckedApp, redirect_uri: str, query: Query, *, catalog: ScopeCatalog
) -> AuthorizationRequest:
    """Run every redirectable check in order; ``redirect_uri`` comes from ``resolve_redirect_uri``."""
    params = check_no_repeats(query)
    check_response_type(params.get("response_type"))
    challenge, method = check_pkce(params.get("code_challenge"), params.get("code_challenge_method"))
    if challenge is None and app.client_type == PUBLIC:
        raise InvalidRequest(PUBLIC_PKCE_REQUIRED)
    if challenge is None and app.require_pkce:
        raise InvalidRequest(PKCE_REQUIRED)
    scopes = check_scope(app, params.get("scope"), catalog=catalog)
    state = check_state(params.get("state"))
    oidc = check_oidc(query)
    return AuthorizationRequest(
        client_id=app.client_id,
        redirect_uri=redirect_uri,
        scopes=scopes,
        state=state,
        code_challenge=challenge,
        code_challenge_method=method,
        redirect_uri_given="redirect_uri" in params,
        oidc=oidc,
    )


def check_no_repeats(query: Query) -> dict[str, str]:
    """RFC 6749 §3.1: parameters MUST NOT be included more than once; empty ones count as omitted."""
    return single_values(query, AUTHORIZE_PARAMETERS)


def check_response_type(response_type: str | None) -> None:
    """RFC 6749 §4.1.1: ``response_type`` is required and must be ``code`` (the only flow we serve)."""
    if response_type is None:
        raise InvalidRequest("response_type is required")
    if response_type != "code":
        raise UnsupportedResponseType("response_type must be code")


def check_pkce(challenge: str | None, method: str | None) -> tuple[str | None, str | None]:
    """RFC 7636 §4.3, §4.4.1; RFC 9700 §2.1.1: only S256; a challenge needs an explicit method."""
    if challenge is None:
        if method is not None:
            raise InvalidRequest("code_challenge_method was given without code_challenge")
        return None, None
    if method is None:
        raise InvalidRequest("code_challenge_method is required: only S256 is supported")
    if method != "S256":
        raise InvalidRequest("code_challenge_method must be S256: only S256 is supported")
    if not _CHALLENGE.fullmatch(challenge):
        raise InvalidRequest("code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~")
    if not _S256_CHALLENGE.fullmatch(challenge):
        raise InvalidRequest("an S256 code_challenge must be exactly 43 base64url characters")
    return challenge, method


def check_scope(app: RegisteredApp, value: str | None, *, catalog: ScopeCatalog) -> tuple[str, ...]:
    """RFC 6749 §3.3: required, well formed, in the catalog and approved for the app at registration.

    Returns the scopes deduplicated, in catalog order.
    """
    return requested_scopes(value or "", app.scopes, catalog)


def check_state(state: str | None) -> str | None:
    """RFC 6749 §4.1.1: ``state`` is optional and opaque; we cap its length."""
    if state is not None and len(state) > MAX_STATE_LENGTH:
        raise InvalidRequest(f"state must be at most {MAX_STATE_LENGTH} characters")
    return state


def state_from(query: Query) -> str | None:
    """The ``state`` to echo in an error redirect (RFC 6749 §4.1.2.1), or None when absent or invalid."""
    values = query_values(query, "state")
    if len(values) != 1 or len(values[0]) > MAX_STATE_LENGTH:
        return None
    return values[0]


def check_plan(request: AuthorizationRequest, plan: str, *, catalog: ScopeCatalog) -> None:
    """Every requested scope must be included in the user's plan (``scopes.toml``)."""
    allowed = catalog.allowed_for_plan(plan)
    for name in request.scopes:
        if name in allowed:
            continue
        plans = catalog.get(name).plans if name in catalog else ()
        # The client learns that the scope was refused, never which plan the user is on.
        raise InvalidScope(f"{name} is not available to this user", debug=f"plan {plan}, needs {plans}")
