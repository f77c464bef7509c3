"""Client authentication at the token, introspection and revocation endpoints (RFC 6749 §2.3.1).

Extracts the credentials; a ``ClientVerifier`` checks them against the app record's secret HMACs
(``shared.apps.secrets``): the token service reads the records from Redis itself
(``shared.apps.client_auth_cache.CachedClientVerifier``, no bus hop), the revocation service asks the
registry (``shared.registry_client.RegistryClient.verify_client``).

A public app (``client_type`` ``public``, RFC 6749 §2.1) sends its ``client_id`` alone (method ``none``);
the rule of who may authenticate how is ``shared.apps.secrets.client_authenticated``. Any endpoint that
authenticates clients "as at the token endpoint" (RFC 8628 §3.1's device authorization endpoint) does
what ``/oauth/token`` does: at the gateway, ``client_credentials(request, form)`` then
``ask_token_service(...)`` (``services/gateway/routes/token.py``: the failure rate limit and
``WWW-Authenticate: Basic``); in the service, ``ClientVerifier.verify_client(client_id, client_secret)``
(the token service's ``CachedClientVerifier``), which answers the app or raises ``InvalidClient``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Literal, NamedTuple, Protocol
from urllib.parse import unquote_plus

from shared.errors import InvalidClient, InvalidClientBasic, InvalidRequest
from shared.messages.registry import AppView

AuthMethod = Literal["client_secret_basic", "client_secret_post", "none"]


class ClientCredentials(NamedTuple):
    client_id: str
    client_secret: str
    method: AuthMethod


class ClientVerifier(Protocol):
    async def verify_client(
        self, client_id: str, client_secret: str, *, request_id: str | None = None
    ) -> AppView:
        """The app when it authenticates as at the token endpoint (``shared.apps.secrets.
        client_authenticated``): a confidential app with one of its live secrets, a public app with
        ``client_secret`` ``""`` (method ``none``); else ``InvalidClient``."""
        ...


def extract_client_credentials(
    authorization_header: str | None, form: Mapping[str, list[str]]
) -> ClientCredentials:
    """The client's credentials from HTTP Basic or the request body (RFC 6749 §2.3.1).

    Raises ``InvalidRequest`` for a repeated parameter (§3.2) or for two methods at once (§2.3);
    ``InvalidClientBasic`` for malformed Basic credentials; ``InvalidClient`` when none were sent.
    A ``client_id`` in the body beside Basic must name the same client. Empty values count as absent.
    A ``client_id`` alone is method ``none`` (§2.1, §3.2.1: a public client), with secret ``""``: the
    verifier accepts it for a public app only.
    """
    form_id = _single(form, "client_id")
    form_secret = _single(form, "client_secret")
    basic = _basic_credentials(authorization_header)
    if basic is not None:
        if form_secret:
            raise InvalidRequest(
                "use only one client authentication method", debug="HTTP Basic and client_secret in body"
            )
        client_id, client_secret = _decode_basic(basic)
        if form_id and form_id != client_id:
            raise InvalidRequest("client_id does not match the HTTP Basic credentials")
        return ClientCredentials(client_id, client_secret, "client_secret_basic")
    if form_id and form_secret:
        return ClientCredentials(form_id, form_secret, "client_secret_post")
    if form_id:
        return ClientCredentials(form_id, "", "none")
    raise InvalidClient("client authentication is required")


def _single(form: Mapping[str, list[str]], name: str) -> str | None:
    values = form.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise InvalidRequest(f"{name} must not be included more than once")
    return values[0]


def _basic_credentials(authorization_header: str | None) -> str | None:
    """The credentials part when the scheme is Basic (case-insensitive, RFC 7235 §2.1), else None."""
    if not authorization_header:
        return None
    scheme, _, credentials = authorization_header.strip().partition(" ")
    return credentials.strip() if scheme.lower() == "basic" else None


def _decode_basic(credentials: str) -> tuple[str, str]:
    """Base64-decode, split on the first ':', then form-urlencoding-decode each part (RFC 6749 §2.3.1)."""
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        encoded_id, colon, encoded_secret = decoded.partition(":")
        client_id = unquote_plus(encoded_id, errors="strict")
        client_secret = unquote_plus(encoded_secret, errors="strict")
    except ValueError as exc:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise InvalidClientBasic("malformed HTTP Basic credentials", debug=str(exc)) from None
    if not colon:
        raise InvalidClientBasic("malformed HTTP Basic credentials", debug="no ':' separator")
    if not client_id or not client_secret:
        raise InvalidClientBasic("malformed HTTP Basic credentials", debug="empty client_id or client_secret")
    return client_id, client_secret
