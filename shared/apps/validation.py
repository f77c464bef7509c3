"""The rules of an app's settings, one per field (RFC 6749 §3.1.2, §3.3; RFC 8252 §7.3, §8.3).

Pure functions: no I/O. Each ``*_error`` returns one human message, or ``None`` when the value is
fine; ``shared.apps.settings.validate_app`` runs them all and reports every failing field at once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import SplitResult, urlsplit

from shared.scopes import ScopeCatalog
from shared.text import has_bidi_control
from shared.webhooks.addresses import host_refusal

MAX_NAME_LENGTH = 64
MAX_DESCRIPTION_LENGTH = 500
MAX_REDIRECT_URIS = 10

_WEB_SCHEMES = frozenset({"http", "https"})
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
_SHOWN_URI_LENGTH = 80
# RFC 8252 §7.1: a private-use scheme in reverse-domain form (com.example.app), lower case so that the
# CSP form-action source (services/gateway/form_action.py) and the exact match see the same scheme.
_PRIVATE_USE_SCHEME = re.compile(r"[a-z][a-z0-9+\-]*(\.[a-z0-9][a-z0-9+\-]*)+")
_PRIVATE_USE_EXAMPLE = "like com.example.app:/callback"
_PRIVATE_USE = f"a private-use scheme in reverse-domain form ({_PRIVATE_USE_EXAMPLE})"


def parse_redirect_uris_text(text: str) -> list[str]:
    """Split a "one per line" textarea into redirect URIs: lines stripped, blank lines dropped."""
    return stripped(text.splitlines())


def is_loopback_redirect(uri: str) -> bool:
    """True for an ``http`` URI whose host is ``127.0.0.1``, ``[::1]`` or ``localhost``.

    RFC 8252 §7.3 (loopback redirection, any port) and §8.3 (loopback over plain http). A URI
    with userinfo, an unparseable port or whitespace is never treated as loopback.
    """
    parts = _split(uri)
    if parts is None or _has_control(uri) or "@" in parts.netloc:
        return False
    return parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS


def stripped(values: Iterable[str]) -> list[str]:
    return [v.strip() for v in values if v.strip()]


def dedup(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _has_control(text: str) -> bool:
    return any(c.isspace() or unicodedata.category(c) == "Cc" for c in text) or has_bidi_control(text)


def _split(uri: str) -> SplitResult | None:
    """``urlsplit`` with the port checked; ``None`` when either is malformed."""
    try:
        parts = urlsplit(uri)
        _ = parts.port
    except ValueError:
        return None
    return parts


def _shown(value: str) -> str:
    if len(value) <= _SHOWN_URI_LENGTH:
        return value
    return value[: _SHOWN_URI_LENGTH - 3] + "..."


def name_error(name: str) -> str | None:
    if not name:
        return "Name is required"
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in name) or has_bidi_control(name):
        return "Name must not contain control characters"
    if len(name) > MAX_NAME_LENGTH:
        return f"Name must be at most {MAX_NAME_LENGTH} characters (it has {len(name)})"
    return None


def description_error(description: str) -> str | None:
    if has_bidi_control(description):
        return "Description must not contain bidirectional control characters"
    if len(description) > MAX_DESCRIPTION_LENGTH:
        return f"Description must be at most {MAX_DESCRIPTION_LENGTH} characters (it has {len(description)})"
    return None


def homepage_error(url: str) -> str | None:
    if not url:
        return "Homepage URL is required"
    problem = _web_url_problem(url)
    return None if problem is None else f"Homepage URL ({_shown(url)}) {problem}"


def _web_url_problem(uri: str) -> str | None:
    """What makes ``uri`` not an absolute http(s) URL with a host, or ``None``."""
    if _has_control(uri):
        return "must not contain spaces or control characters"
    if "\\" in uri:
        return "must not contain a backslash (browsers read it as /)"
    if not uri.isascii():
        return "must be ASCII: write an international domain name as xn--, other characters %-encoded"
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in _WEB_SCHEMES:
        # "localhost:8080/cb" parses as scheme "localhost": it is really a missing scheme.
        if not parts.scheme or (not parts.netloc and parts.path[:1].isdigit()):
            return "must be an absolute URL starting with https:// or http://"
        return f"must start with https:// or http:// (the {parts.scheme}: scheme is not allowed)"
    if "@" in parts.netloc:
        return "must not contain a username or password"
    if not parts.hostname:
        return "must be an absolute URL with a host"
    if _split(uri) is None:
        return "has an invalid port"
    return None


def _redirect_uri_problem(uri: str, *, production: bool) -> str | None:
    """RFC 6749 §3.1.2: absolute, no fragment; no wildcards; https unless loopback in production."""
    if "*" in uri:
        return "must not contain a wildcard (*)"
    if "#" in uri:
        return "must not contain a fragment (#)"
    problem = _web_url_problem(uri)
    if problem is not None:
        return problem
    if production and urlsplit(uri).scheme != "https" and not is_loopback_redirect(uri):
        return "must use https (http is only allowed for 127.0.0.1, [::1] and localhost)"
    return None


def _public_redirect_uri_problem(uri: str) -> str | None:
    """RFC 8252 §7: a public (native) app may use loopback http (any port, §7.3), https (§7.2) or a
    private-use scheme in reverse-domain form (§7.1); never another http URL or a scheme like
    ``javascript``, ``data``, ``file`` or one without a dot."""
    if "*" in uri:
        return "must not contain a wildcard (*)"
    if "#" in uri:
        return "must not contain a fragment (#)"
    scheme, colon, rest = uri.partition(":")
    if not colon:
        return _private_use_problem(uri, "", "")
    if scheme.lower() not in _WEB_SCHEMES:
        return _private_use_problem(uri, scheme, rest)
    problem = _web_url_problem(uri)
    if problem is not None:
        return problem
    if urlsplit(uri).scheme != "https" and not is_loopback_redirect(uri):
        return f"must use https, a loopback address (http://127.0.0.1, [::1] or localhost) or {_PRIVATE_USE}"
    return None


def _private_use_problem(uri: str, scheme: str, rest: str) -> str | None:
    if _has_control(uri) or "\\" in uri or not uri.isascii():
        return "must be ASCII without spaces, control characters or backslashes"
    if not _PRIVATE_USE_SCHEME.fullmatch(scheme):
        shown = f"the {_shown(scheme)}: scheme is not allowed" if scheme else "has no scheme"
        return f"{shown}: use https, loopback http or {_PRIVATE_USE}"
    if not rest.strip("/"):
        return f"must have a path after the scheme ({_PRIVATE_USE_EXAMPLE})"
    return None


def client_type_error(client_type: str, allowed: tuple[str, ...]) -> str | None:
    if client_type not in allowed:
        return f"Client type must be one of: {', '.join(allowed)}"
    return None


def redirect_uris_error(entries: list[str], *, production: bool, public: bool = False) -> str | None:
    if not dedup(entries):
        return "Add at least one redirect URI"
    return _uri_list_error(
        entries, production=production, public=public, label="Redirect URI", plural="redirect URIs"
    )


def post_logout_redirect_uris_error(
    entries: list[str], *, production: bool, public: bool = False
) -> str | None:
    """OpenID Connect RP-Initiated Logout 1.0 §3: optional; each one checked like a redirect URI."""
    return _uri_list_error(
        entries,
        production=production,
        public=public,
        label="Post-logout redirect URI",
        plural="post-logout redirect URIs",
    )


def _uri_list_error(
    entries: list[str], *, production: bool, public: bool, label: str, plural: str
) -> str | None:
    unique = dedup(entries)
    if len(unique) > MAX_REDIRECT_URIS:
        return f"At most {MAX_REDIRECT_URIS} {plural} are allowed (there are {len(unique)})"
    seen: set[str] = set()
    problems = []  # every bad URI, so one correction round fixes them all
    for number, uri in enumerate(entries, start=1):
        if uri in seen:
            continue
        seen.add(uri)
        if public:
            problem = _public_redirect_uri_problem(uri)
        else:
            problem = _redirect_uri_problem(uri, production=production)
        if problem is not None:
            problems.append(f"{label} {number} ({_shown(uri)}) {problem}")
    return "; ".join(problems) or None


def webhook_url_error(url: str, *, production: bool) -> str | None:
    """ "" (none) or an absolute https URL; plain http only to a loopback host in development. In
    production the host must not be ``localhost`` or an IP literal outside the public ranges (the
    address actually connected to is checked again at delivery, after DNS)."""
    if not url:
        return None
    problem = _web_url_problem(url) or _webhook_url_problem(url, production=production)
    return None if problem is None else f"Webhook URL ({_shown(url)}) {problem}"


def _webhook_url_problem(url: str, *, production: bool) -> str | None:
    if "#" in url:
        return "must not contain a fragment (#)"
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    if production:
        if parts.scheme != "https":
            return "must use https"
        refused = host_refusal(host)  # the webhooks service's rule, applied again at delivery
        if refused is not None:
            return f"must point to a public address (this one is {refused})"
        return None
    if parts.scheme != "https" and host not in _LOOPBACK_HOSTS:
        return "must use https (http is only allowed for 127.0.0.1, [::1] and localhost in development)"
    return None


def scopes_error(scopes: list[str], catalog: ScopeCatalog) -> str | None:
    if not scopes:
        return "Choose at least one scope"
    unknown = [_shown(s) for s in scopes if s not in catalog]
    if len(unknown) == 1:
        return f"Unknown scope: {unknown[0]}"
    if unknown:
        return f"Unknown scopes: {', '.join(unknown)}"
    return None


ID_TOKEN_ALGS = ("RS256", "ES256")  # the ID token algorithms an app may choose (``shared.signing``)


def id_token_alg_error(alg: str) -> str | None:
    if alg not in ID_TOKEN_ALGS:
        return f"ID token algorithm must be one of {', '.join(ID_TOKEN_ALGS)}"
    return None
