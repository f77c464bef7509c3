"""The consent page's form binding, CSP and view model (gateway, pure)."""

from __future__ import annotations

import msgspec
import pytest

from services.gateway import consent, form_action
from services.gateway.sessions import Session
from shared.messages.authorize import CheckedRequest, ShowConsent
from shared.messages.registry import AppView
from shared.scopes import ScopeCatalog

SESSION = Session(user_id="u1", email="a@example.com", display_name="A", csrf="c" * 43, created_at=0)
OTHER_SESSION = msgspec.structs.replace(SESSION, csrf="d" * 43)
REQUEST = CheckedRequest(
    client_id="mavio_client_AAAAAAAAAAAAAAAA",
    redirect_uri="http://127.0.0.1:5000/cb?x=1",
    scopes=["meetings:read", "transcripts:read"],
    state="st",
    code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    code_challenge_method="S256",
)


def app(**kw: object) -> AppView:
    base: dict[str, object] = {
        "client_id": REQUEST.client_id,
        "name": "Notes",
        "homepage_url": "https://notes.example",
        "redirect_uris": [REQUEST.redirect_uri],
        "scopes": ["meetings:read", "transcripts:read"],
        "owner_id": "o",
        "owner_name": "Olga",
    }
    base.update(kw)
    return msgspec.convert(base, AppView)


def test_the_session_binding_differs_per_session() -> None:
    assert consent.session_binding(SESSION) == consent.session_binding(SESSION)
    assert consent.session_binding(SESSION) != consent.session_binding(OTHER_SESSION)
    assert SESSION.csrf not in consent.session_binding(SESSION)


@pytest.mark.parametrize(
    ("posted", "kept"),
    [
        ("/oauth/authorize?client_id=x&state=1", "/oauth/authorize?client_id=x&state=1"),
        ("https://evil.example/oauth/authorize?x", "/"),
        ("//evil.example/oauth/authorize?x", "/"),
        ("/settings?x", "/"),
        (None, "/"),
        ("/oauth/authorize?" + "x" * 9000, "/"),
    ],
)
def test_return_to_is_this_endpoint_only(posted: str | None, kept: str) -> None:
    assert consent.return_to(posted) == kept


@pytest.mark.parametrize(
    ("uri", "source"),
    [
        ("https://app.example/cb?x=1", "https://app.example"),
        ("http://127.0.0.1:53211/cb", "http://127.0.0.1:53211"),
        ("HTTPS://App.example:8443/cb", "https://App.example:8443"),
        ("com.example.notes:/oauth", "com.example.notes:"),
        ("http://[::1]:8080/cb", "http:"),
        ("http://user@app.example/cb", "http://app.example"),
        ("", ""),
    ],
)
def test_redirect_source(uri: str, source: str) -> None:
    assert form_action.redirect_source(uri) == source


def test_csp_forbids_framing_and_third_parties() -> None:
    csp = form_action.content_security_policy("https://app.example/cb")
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert "form-action 'self' https://app.example;" in csp
    headers = consent.page_headers("https://app.example/cb")
    assert headers["X-Frame-Options"] == "DENY" and headers["Cache-Control"] == "no-store"
    assert headers["Referrer-Policy"] == "no-referrer"


def test_page_context_describes_scopes_and_uses_the_placeholder_logo() -> None:
    shown = ShowConsent(app=app(), request=REQUEST, consent="page-id")
    ctx = consent.page_context(shown, ScopeCatalog.load(), "/oauth/authorize?client_id=x")
    assert ctx["logo_url"] == consent.PLACEHOLDER_LOGO
    assert ctx["homepage_url"] == "https://notes.example"
    assert ctx["scopes"] == [
        ("meetings:read", "View your meetings and their details"),
        ("transcripts:read", "Read your meeting transcripts"),
    ]
    assert ctx["decision_token"] == "page-id"
    assert ctx["fields"] == [("return_to", "/oauth/authorize?client_id=x")]  # nothing of the request


def test_page_context_links_the_logo_and_never_a_script_homepage() -> None:
    shown = ShowConsent(app=app(has_logo=True, homepage_url="javascript:alert(1)"), request=REQUEST)
    ctx = consent.page_context(shown, ScopeCatalog.load(), "/oauth/authorize?client_id=x")
    assert ctx["logo_url"] == f"/oauth/apps/{REQUEST.client_id}/logo.png?v=0"
    assert ctx["homepage_url"] == ""


def test_the_default_policy_and_the_credentials_page_allow_forms_to_this_origin_only() -> None:
    assert "form-action 'self';" in form_action.content_security_policy("")
    with_script = form_action.content_security_policy(script=True)
    assert "script-src 'self';" in with_script and "form-action 'self';" in with_script
