"""The consent page's form and headers (RFC 6749 §10.12 CSRF, §10.13 clickjacking; RFC 9700 §4.4, §4.7).

The form carries one hidden ``consent_token``: the id of this page's single decision, which the
authorize service stored with the request exactly as it checked it and with this session's binding.
Nothing else of the request is posted back (a parameter added to the form cannot change the decision);
``return_to`` only says where to come back to after signing in again (this endpoint, which checks the
request again). The user's choices (``decision``, ``granted``) are the only other fields read.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from services.gateway.form_action import content_security_policy
from services.gateway.sessions import Session, bound_csrf
from shared.messages.authorize import ShowConsent
from shared.messages.registry import AppView
from shared.scopes import ScopeCatalog

TOKEN_FIELD = "consent_token"  # distinct from the session-wide "csrf_token" of other forms
RETURN_FIELD = "return_to"
PLACEHOLDER_LOGO = "/static/app-placeholder.svg"
# OpenID Connect's sign-in itself: shown checked and disabled (a disabled box is not posted; the
# authorize service restores it, ``services.authorize.domain.granted_scopes``).
LOCKED_SCOPE = "openid"


SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def session_binding(session: Session) -> str:
    """What a consent page is bound to: derived from the session's secret, so no other session has it."""
    return bound_csrf(session, "consent-session")


def return_to(value: object) -> str:
    """Where to send the user after signing in again: this endpoint only (``/`` otherwise)."""
    if isinstance(value, str) and value.startswith("/oauth/authorize?") and len(value) <= 8192:
        return value
    return "/"


def page_headers(redirect_uri: str) -> dict[str, str]:
    """The consent page's headers: its decision's 303 goes to ``redirect_uri`` (``form_action``)."""
    return {**SECURITY_HEADERS, "Content-Security-Policy": content_security_policy(redirect_uri)}


def logo_url(app: AppView) -> str:
    """The app's logo on this site, or the placeholder."""
    if not app.has_logo:
        return PLACEHOLDER_LOGO
    return f"/oauth/apps/{quote(app.client_id, safe='')}/logo.png?v={app.updated_at}"


def page_context(shown: ShowConsent, catalog: ScopeCatalog, back_to: str) -> dict[str, object]:
    """The template's variables: the app's public view, the scopes described, the form."""
    app = shown.app
    homepage = app.homepage_url if urlsplit(app.homepage_url).scheme in ("http", "https") else ""
    logo = logo_url(app)

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
        "fields": [(RETURN_FIELD, return_to(back_to))],
        "token_field": TOKEN_FIELD,
        "decision_token": shown.consent,
        "notice": shown.notice,
        "locked_scope": LOCKED_SCOPE,
    }
