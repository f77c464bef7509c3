"""Who the client is and where to send the user back: RFC 6749 §3.1.2, §4.1.2, §4.1.2.1; RFC 8252 §7.3.

Pure functions, no I/O. The two errors raised here must never be sent to a redirect URI (RFC 6749
§4.1.2.1): the gateway shows them as an HTML error page instead. Redirect URIs are compared exactly
(RFC 9700 §2.1, §4.1.3), with the single RFC 8252 §7.3 exception of any port on a loopback URI.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar, Protocol
from urllib.parse import quote, urlencode

from shared.errors import InvalidClient, InvalidRequest, OAuthError

Query = Sequence[tuple[str, str]]
"""The raw query string as (key, value) pairs, in order, duplicates kept."""

MISMATCH = "redirect_uri must exactly match one of the app's registered redirect URIs"

# RFC 8252 §7.3: a loopback redirect URI registered without (or with any) port accepts any port.
# Matched on the raw string so that nothing (scheme or host case, userinfo, backslashes) is normalised.
_LOOPBACK = re.compile(
    r"http://(?P<host>127\.0\.0\.1|\[::1\]|localhost)(?::(?P<port>[0-9]{1,5}))?(?P<rest>[/?][^#]*)?"
)


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


class UnknownClient(InvalidClient):
    """The client identifier is missing, repeated or invalid (RFC 6749 §4.1.2.1).

    The server MUST NOT redirect: it informs the resource owner on an HTML error page (status 400).
    """

    status = 400
    redirectable: ClassVar[bool] = False

    def __init__(self, description: str = "Unknown or deleted client_id", *, debug: str = "") -> None:
        super().__init__(description, debug=debug)


class BadRedirectUri(InvalidRequest):
    """The redirection URI is missing, invalid, repeated or mismatching (RFC 6749 §4.1.2.1).

    The server MUST NOT redirect to it: it informs the resource owner on an HTML error page (status 400).
    """

    redirectable: ClassVar[bool] = False


def is_redirectable(error: OAuthError) -> bool:
    """Whether ``error`` may be sent to the client's redirect URI (RFC 6749 §4.1.2.1)."""
    return bool(getattr(error, "redirectable", True))


def query_values(query: Query, name: str) -> list[str]:
    """Every non-empty value of ``name``; a parameter without a value counts as omitted (RFC 6749 §3.1)."""
    return [value for key, value in query if key == name and value]


def client_id_from(query: Query) -> str:
    """The single ``client_id`` of the request (RFC 6749 §4.1.1); missing or repeated never redirects."""
    values = query_values(query, "client_id")
    if not values:
        raise UnknownClient("client_id is required")
    if len(values) > 1:
        raise UnknownClient("client_id must not be repeated")
    return values[0]


def resolve_redirect_uri(app: RegisteredApp, query: Query) -> str:
    """The URI to redirect to: the requested one when it matches a registered URI (RFC 6749 §3.1.2.3).

    ``redirect_uri`` may be omitted only when the app has exactly one registered URI, which is then used.
    """
    values = query_values(query, "redirect_uri")
    if len(values) > 1:
        raise BadRedirectUri("redirect_uri must not be repeated")
    if not values:
        return _only_registered(app)
    requested = values[0]
    if "#" in requested:
        raise BadRedirectUri("redirect_uri must not contain a fragment", debug=f"requested {requested!r}")
    if not any(redirect_uri_matches(registered, requested) for registered in app.redirect_uris):
        raise BadRedirectUri(MISMATCH, debug=f"requested {requested!r}")
    return requested


def _only_registered(app: RegisteredApp) -> str:
    if len(app.redirect_uris) == 1:
        return app.redirect_uris[0]
    if not app.redirect_uris:
        raise BadRedirectUri("the app has no registered redirect URI")
    raise BadRedirectUri("redirect_uri is required: the app has several registered redirect URIs")


def redirect_uri_matches(registered: str, requested: str) -> bool:
    """Simple string comparison (RFC 3986 §6.2.1, RFC 9700 §4.1.3), but any port on loopback (RFC 8252 §7.3).

    For a registered ``http://127.0.0.1``, ``http://[::1]`` or ``http://localhost`` URI the requested port
    may differ (or be absent); scheme, host, path and query must still be identical strings.
    """
    if requested == registered:
        return True
    reg = _LOOPBACK.fullmatch(registered)
    req = _LOOPBACK.fullmatch(requested)
    if reg is None or req is None:
        return False
    port = req["port"]
    port_ok = port is None or 0 < int(port) < 65536
    return port_ok and reg["host"] == req["host"] and reg["rest"] == req["rest"]


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
