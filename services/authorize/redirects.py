"""Who the client is and how the user is sent back: RFC 6749 §4.1.1, §4.1.2, §4.1.2.1.

Pure functions, no I/O. An ``UnknownClient`` must never be sent to a redirect URI (RFC 6749 §4.1.2.1):
the gateway shows it as an HTML error page instead. Which URI may be used is ``redirect_match``'s rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol
from urllib.parse import quote, urlencode

from shared.errors import InvalidRequest, OAuthError, UnknownClient, is_redirectable

Query = Sequence[tuple[str, str]]
"""The raw query string as (key, value) pairs, in order, duplicates kept."""


class RegisteredApp(Protocol):
    """What the authorization checks need from a registered app (read-only view)."""

    @property
    def client_id(self) -> str: ...

    @property
    def redirect_uris(self) -> Sequence[str]: ...

    @property
    def scopes(self) -> Sequence[str]:
        """The scopes approved at registration."""
        ...


def query_values(query: Query, name: str) -> list[str]:
    """Every non-empty value of ``name``; a parameter without a value counts as omitted (RFC 6749 §3.1)."""
    return [value for key, value in query if key == name and value]


def single_values(query: Query, names: Sequence[str]) -> dict[str, str]:
    """RFC 6749 §3.1: parameters MUST NOT be included more than once; empty ones count as omitted."""
    params: dict[str, str] = {}
    for name in names:
        values = query_values(query, name)
        if len(values) > 1:
            raise InvalidRequest(f"{name} must not be repeated")
        if values:
            params[name] = values[0]
    return params


def client_id_from(query: Query) -> str:
    """The single ``client_id`` of the request (RFC 6749 §4.1.1); missing or repeated never redirects."""
    values = query_values(query, "client_id")
    if not values:
        raise UnknownClient("client_id is required")
    if len(values) > 1:
        raise UnknownClient("client_id must not be repeated")
    return values[0]


def error_redirect(redirect_uri: str, error: OAuthError, state: str | None) -> str:
    """The error response location (RFC 6749 §4.1.2.1): ``error``, ``error_description``, ``state``."""
    if not is_redirectable(error):
        raise ValueError(f"{type(error).__name__} must not be sent to a redirect URI")
    params = [("error", error.error)]
    if error.description:
        params.append(("error_description", error.description))
    return _append_query(redirect_uri, params, state)


def code_redirect(redirect_uri: str, code: str, state: str | None) -> str:
    """The authorization response location (RFC 6749 §4.1.2): ``code`` and ``state``."""
    return _append_query(redirect_uri, [("code", code)], state)


def with_issuer(location: str, issuer: str) -> str:
    """``location`` (from ``error_redirect`` / ``code_redirect``) with ``iss`` added (RFC 9207 §2): the
    client can check which authorization server answered, a defence against mix-up (RFC 9700 §4.4)."""
    return location + ("&" if "?" in location else "?") + urlencode([("iss", issuer)], quote_via=quote)


def _append_query(redirect_uri: str, params: list[tuple[str, str]], state: str | None) -> str:
    """Add ``params`` after the URI's own query, kept byte for byte (RFC 6749 §3.1.2); drop any fragment."""
    if state:
        params.append(("state", state))
    base = redirect_uri.split("#", 1)[0]
    if base.endswith(("?", "&")):
        separator = ""
    else:
        separator = "&" if "?" in base else "?"
    return base + separator + urlencode(params, quote_via=quote)
