"""The consent page's form binding, CSP and view model (gateway, pure)."""

from __future__ import annotations

import msgspec
import pytest

from services.gateway import consent
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


def test_hidden_fields_carry_the_checked_request() -> None:
    fields = dict(consent.hidden_fields(REQUEST))
    assert fields == {
        "client_id": REQUEST.client_id,
        "redirect_uri": REQUEST.redirect_uri,
        "response_type": "code",
        "scope": "meetings:read transcripts:read",
        "state": "st",
        "code_challenge": REQUEST.code_challenge,
        "code_challenge_method": "S256",
    }
    no_pkce = msgspec.structs.replace(REQUEST, code_challenge=None, code_challenge_method=None, state=None)
    assert {name for name, _ in consent.hidden_fields(no_pkce)} == {
        "client_id",
        "redirect_uri",
        "response_type",
        "scope",
    }


def test_the_token_is_bound_to_the_session_and_to_every_bound_field() -> None:
    token = consent.decision_token(SESSION, REQUEST)
    assert token != consent.decision_token(OTHER_SESSION, REQUEST)
    for field, value in [
        ("client_id", "mavio_client_BBBBBBBBBBBBBBBB"),
        ("redirect_uri", "http://127.0.0.1:5001/cb?x=1"),
        ("scopes", ["meetings:read"]),
        ("state", "other"),
        ("code_challenge", "A" * 43),
        ("code_challenge_method", None),
    ]:
        changed = msgspec.structs.replace(REQUEST, **{field: value})
        assert consent.decision_token(SESSION, changed) != token, field


def test_binding_of_posted_params_matches_the_page() -> None:
    posted = [*consent.hidden_fields(REQUEST), ("granted", "x"), ("decision", "deny")]
    params = consent.form_params(posted)
    assert consent.binding(params) == consent.binding(consent.hidden_fields(REQUEST))
    assert ("granted", "x") not in params


def test_form_params_drop_uploads_and_unknown_fields() -> None:
    assert consent.form_params([("scope", "a"), ("other", "b"), ("state", object())]) == [("scope", "a")]


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
    assert consent.redirect_source(uri) == source


def test_csp_forbids_framing_and_third_parties() -> None:
    csp = consent.content_security_policy("https://app.example/cb")
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert "form-action 'self' https://app.example;" in csp
    headers = consent.page_headers("https://app.example/cb")
    assert headers["X-Frame-Options"] == "DENY" and headers["Cache-Control"] == "no-store"
    assert headers["Referrer-Policy"] == "no-referrer"


def test_page_context_describes_scopes_and_uses_the_placeholder_logo() -> None:
    ctx = consent.page_context(ShowConsent(app=app(), request=REQUEST), SESSION, ScopeCatalog.load())
    assert ctx["logo_url"] == consent.PLACEHOLDER_LOGO
    assert ctx["homepage_url"] == "https://notes.example"
    assert ctx["scopes"] == [
        ("meetings:read", "View your meetings and their details"),
        ("transcripts:read", "Read your meeting transcripts"),
    ]
    assert ctx["decision_token"] == consent.decision_token(SESSION, REQUEST)


def test_page_context_links_the_logo_and_never_a_script_homepage() -> None:
    shown = ShowConsent(app=app(has_logo=True, homepage_url="javascript:alert(1)"), request=REQUEST)
    ctx = consent.page_context(shown, SESSION, ScopeCatalog.load())
    assert ctx["logo_url"] == f"/oauth/apps/{REQUEST.client_id}/logo.png?v=0"
    assert ctx["homepage_url"] == ""


def test_an_omitted_redirect_uri_stays_omitted_in_the_form_and_is_bound_as_such() -> None:
    omitted = msgspec.structs.replace(REQUEST, redirect_uri_given=False)
    assert "redirect_uri" not in dict(consent.hidden_fields(omitted))
    assert consent.decision_token(SESSION, omitted) != consent.decision_token(SESSION, REQUEST)
    assert consent.redirect_source(omitted.redirect_uri) == "http://127.0.0.1:5000"
