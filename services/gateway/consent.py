"""The consent page's form and headers (RFC 6749 §10.12 CSRF, §10.13 clickjacking; RFC 9700 §4.4, §4.7).

The form carries the checked request back in hidden fields; its token is bound to the session and to
exactly those values (client, redirect URI, scopes, state, PKCE), so a decision cannot be forged or
replayed for another request. The user's choices (``decision``, ``granted``) are not bound.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, urlencode, urlsplit

from services.gateway.sessions import Session, bound_csrf
from shared.messages.authorize import CheckedRequest, ShowConsent
from shared.scopes import ScopeCatalog

# The hidden fields, in this order; together they are the request the token is bound to.
BOUND_FIELDS = ("client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method")
FORM_FIELDS = (*BOUND_FIELDS, "response_type")
TOKEN_FIELD = "consent_token"  # distinct from the session-wide "csrf_token" of other forms
PLACEHOLDER_LOGO = "/static/app-placeholder.svg"

_SCHEME = re.compile(r"[a-z][a-z0-9+.\-]*")
_HOST_PORT = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]{1,5})?")

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def hidden_fields(request: CheckedRequest) -> list[tuple[str, str]]:
    """The checked request as form fields (absent optional values are left out).

    An omitted ``redirect_uri`` stays omitted, so the code records that the token request may omit it.
    """
    values = {
        "client_id": request.client_id,
        "redirect_uri": request.redirect_uri if request.redirect_uri_given else None,
        "response_type": "code",
        "scope": " ".join(request.scopes),
        "state": request.state,
        "code_challenge": request.code_challenge,
        "code_challenge_method": request.code_challenge_method,
    }
    return [(name, value) for name, value in values.items() if value]


def binding(params: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """What the token is bound to: the first value of each bound field ("" when absent)."""
    first: dict[str, str] = {}
    for name, value in params:
        first.setdefault(name, value)
    return ("authorize", *(first.get(name, "") for name in BOUND_FIELDS))


def decision_token(session: Session, request: CheckedRequest) -> str:
    return bound_csrf(session, *binding(hidden_fields(request)))


def form_params(items: Iterable[tuple[str, object]]) -> list[tuple[str, str]]:
    """The request's parameters posted back by the form, in order, repeats kept (they are refused later)."""
    return [(name, value) for name, value in items if name in FORM_FIELDS and isinstance(value, str)]


def authorize_url(params: Iterable[tuple[str, str]]) -> str:
    """``/oauth/authorize?…`` for these parameters (to come back after signing in again)."""
    return "/oauth/authorize?" + urlencode(list(params), quote_via=quote)


def redirect_source(redirect_uri: str) -> str:
    """The CSP source of the client's redirect URI: the decision's 303 goes there, so ``form-action``
    must allow it (Chromium applies ``form-action`` to redirects after a form submission)."""
    parts = urlsplit(redirect_uri)
    scheme = parts.scheme.lower()
    if not _SCHEME.fullmatch(scheme):
        return ""
    host_port = parts.netloc.rsplit("@", 1)[-1]
    if scheme in ("http", "https") and _HOST_PORT.fullmatch(host_port):
        return f"{scheme}://{host_port}"
    return f"{scheme}:"  # a private-use scheme (RFC 8252 §7.1) or an IPv6 literal host


def content_security_policy(redirect_uri: str) -> str:
    form_action = " ".join(filter(None, ("'self'", redirect_source(redirect_uri))))
    return (
        "default-src 'none'; img-src 'self'; style-src 'self'; "
        f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    )


def page_headers(redirect_uri: str) -> dict[str, str]:
    return {**SECURITY_HEADERS, "Content-Security-Policy": content_security_policy(redirect_uri)}


def page_context(shown: ShowConsent, session: Session, catalog: ScopeCatalog) -> dict[str, object]:
    """The template's variables: the app's public view, the scopes described, the form."""
    app = shown.app
    homepage = app.homepage_url if urlsplit(app.homepage_url).scheme in ("http", "https") else ""
    logo = (
        f"/oauth/apps/{quote(app.client_id, safe='')}/logo.png?v={app.updated_at}"
        if app.has_logo
        else PLACEHOLDER_LOGO
    )

    def described(name: str) -> tuple[str, str]:
        return name, catalog.get(name).description if name in catalog else name

    remembered = set(shown.remembered)
    return {
        "app": app,
        "homepage_url": homepage,
        "logo_url": logo,
        "scopes": [described(name) for name in shown.request.scopes if name not in remembered],
        "remembered": [described(name) for name in shown.request.scopes if name in remembered],
        "redirect_host": urlsplit(shown.request.redirect_uri).netloc.rsplit("@", 1)[-1]
        or shown.request.redirect_uri.split(":", 1)[0] + ":",
        "fields": hidden_fields(shown.request),
        "token_field": TOKEN_FIELD,
        "decision_token": decision_token(session, shown.request),
        "notice": shown.notice,
    }
