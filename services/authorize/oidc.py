"""OpenID Connect parameters of the authorization request (OpenID Connect Core 1.0 §3.1.2.1, §5.5, §6).

Pure functions, no I/O. ``check_oidc(query)`` runs with the other redirectable checks
(``checks.check_request``) and returns what the request asks of the sign-in:

- ``request`` / ``request_uri``: refused (``request_not_supported`` / ``request_uri_not_supported``, §6);
- ``prompt``: a space-separated set of ``none``, ``login``, ``consent``, ``select_account``; ``none``
  with any other value is ``invalid_request``, as is an unknown value;
- ``max_age``: a non-negative integer of seconds;
- ``nonce``: kept exactly as sent (at most ``MAX_NONCE_LENGTH`` characters), for the ID token;
- ``claims`` (§5.5): a JSON object whose ``userinfo`` / ``id_token`` members request individual claims;
  kept (re-encoded) for the claims Mavio has (``SUPPORTED_CLAIMS``), invalid JSON is ``invalid_request``;
- ``login_hint``: prefills the sign-in page's email (never trusted as the user);
- ``id_token_hint``: checked by the gateway (signature against Mavio's keys); the service sees only its
  subject (``sign_in.hinted_user``);
- ``display``, ``ui_locales``, ``claims_locales``, ``acr_values``, and any unknown parameter: ignored.
"""

from __future__ import annotations

from typing import Any

import msgspec

from services.authorize.redirects import Query, query_values, single_values
from shared.errors import InvalidRequest, RequestNotSupported, RequestUriNotSupported

PROMPTS = frozenset({"none", "login", "consent", "select_account"})
REAUTHENTICATE = frozenset({"login", "select_account"})  # the sign-in page even when signed in
SUPPORTED_CLAIMS = ("name", "email", "email_verified")
CLAIMS_MEMBERS = ("userinfo", "id_token")
MAX_NONCE_LENGTH = 512
MAX_LOGIN_HINT_LENGTH = 320
MAX_CLAIMS_LENGTH = 4096
OIDC_PARAMETERS = ("prompt", "max_age", "nonce", "claims", "login_hint", "id_token_hint")


class OidcRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What an authorization request asks of the sign-in (OpenID Connect Core §3.1.2.1)."""

    prompt: frozenset[str] = frozenset()
    max_age: int | None = None
    nonce: str = ""
    claims: str = ""  # the validated ``claims`` parameter, re-encoded; "" when absent
    login_hint: str = ""


def check_oidc(query: Query) -> OidcRequest:
    """The OpenID Connect parameters, checked (§3.1.2.1); errors are sent to the redirect URI."""
    if query_values(query, "request"):
        raise RequestNotSupported("the request parameter is not supported: send the parameters themselves")
    if query_values(query, "request_uri"):
        raise RequestUriNotSupported("the request_uri parameter is not supported")
    params = single_values(query, OIDC_PARAMETERS)
    nonce = params.get("nonce", "")
    if len(nonce) > MAX_NONCE_LENGTH:
        raise InvalidRequest(f"nonce must be at most {MAX_NONCE_LENGTH} characters")
    login_hint = params.get("login_hint", "")
    return OidcRequest(
        prompt=check_prompt(params.get("prompt")),
        max_age=check_max_age(params.get("max_age")),
        nonce=nonce,
        claims=check_claims(params.get("claims")),
        login_hint=login_hint if len(login_hint) <= MAX_LOGIN_HINT_LENGTH else "",
    )


def check_prompt(value: str | None) -> frozenset[str]:
    """§3.1.2.1: space-delimited; ``none`` must stand alone."""
    prompts = frozenset((value or "").split())
    if not prompts <= PROMPTS:
        raise InvalidRequest("prompt must be none, login, consent or select_account")
    if "none" in prompts and len(prompts) > 1:
        raise InvalidRequest("prompt=none must not be combined with another value")
    return prompts


def check_max_age(value: str | None) -> int | None:
    """§3.1.2.1: the allowable elapsed time in seconds since the user last actively authenticated."""
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 10:
        raise InvalidRequest("max_age must be a non-negative integer of seconds")
    return int(value)


def check_claims(value: str | None) -> str:
    """§5.5: a JSON object; its ``userinfo`` and ``id_token`` members (objects of claim name to null
    or an object) are kept for ``SUPPORTED_CLAIMS``; other members and claims are ignored."""
    if value is None:
        return ""
    if len(value) > MAX_CLAIMS_LENGTH:
        raise InvalidRequest(f"claims must be at most {MAX_CLAIMS_LENGTH} characters")
    try:
        parsed = msgspec.json.decode(value)
    except msgspec.DecodeError:
        raise InvalidRequest("claims must be a JSON object (OpenID Connect Core 5.5)") from None
    if not isinstance(parsed, dict):
        raise InvalidRequest("claims must be a JSON object (OpenID Connect Core 5.5)")
    kept = {member: _requested(parsed[member], member) for member in CLAIMS_MEMBERS if member in parsed}
    return msgspec.json.encode(kept).decode() if kept else ""


def _requested(member: Any, name: str) -> dict[str, Any]:
    if not isinstance(member, dict):
        raise InvalidRequest(f"claims.{name} must be a JSON object")
    kept: dict[str, Any] = {}
    for claim, request in member.items():
        if request is not None and not isinstance(request, dict):
            raise InvalidRequest(f"claims.{name} members must be null or a JSON object")
        if claim in SUPPORTED_CLAIMS:
            kept[claim] = request
    return kept
