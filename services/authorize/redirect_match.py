"""Rule: exact redirect URI matching (RFC 6749 §3.1.2.3, §4.1.2.1; RFC 9700 §2.1, §4.1.3; RFC 8252 §7.3).

A requested ``redirect_uri`` must equal a registered one as a string (nothing normalised), with the single
RFC 8252 §7.3 exception of any port on a loopback URI. A missing, repeated, fragment-bearing or
mismatching URI raises ``BadRedirectUri``, which is never redirected to: the gateway shows an error page.
"""

from __future__ import annotations

import re

from services.authorize.redirects import Query, RegisteredApp, query_values
from shared.errors import BadRedirectUri

MISMATCH = "redirect_uri must exactly match one of the app's registered redirect URIs"

# RFC 8252 §7.3: a loopback redirect URI registered without (or with any) port accepts any port.
# Matched on the raw string so that nothing (scheme or host case, userinfo, backslashes) is normalised.
_LOOPBACK = re.compile(
    r"http://(?P<host>127\.0\.0\.1|\[::1\]|localhost)(?::(?P<port>[0-9]{1,5}))?(?P<rest>[/?][^#]*)?"
)


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
