"""Public apps (RFC 6749 §2.1; RFC 8252): the client type at registration, their redirect URIs
(RFC 8252 §7), and client authentication with ``client_id`` alone (RFC 6749 §2.3.1, §3.2.1)."""

from __future__ import annotations

from typing import Any

import pytest

from services.gateway.form_action import redirect_source
from services.registry import client_secrets, domain
from shared.apps.secrets import client_authenticated
from shared.apps.settings import AppSettings, validate_app
from shared.errors import ValidationFailed
from shared.scopes import ScopeCatalog
from shared.tokens import Signer

CATALOG = ScopeCatalog.load()
SIGNER = Signer(b"k" * 32)
NOW = 1_800_000_000


def _settings(*uris: str) -> AppSettings:
    return AppSettings(
        name="Mavio CLI",
        homepage_url="https://cli.example.com",
        redirect_uris=list(uris),
        scopes=["meetings:read"],
    )


def _errors(*uris: str, client_type: str = "public", production: bool = True) -> dict[str, str]:
    try:
        validate_app(_settings(*uris), catalog=CATALOG, production=production, client_type=client_type)
    except ValidationFailed as exc:
        return exc.fields
    return {}


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1/callback",
        "http://127.0.0.1:53117/callback",
        "http://[::1]:8080/cb",
        "http://localhost/cb",
        "https://cli.example.com/done",
        "com.example.app:/callback",
        "com.example.app:/oauth2redirect/mavio",
        "io.mavio.desktop-notes:/cb?x=1",
        "com.example.app://callback",
    ],
)
def test_a_public_app_may_use_loopback_https_and_reverse_domain_schemes(uri: str) -> None:
    assert _errors(uri) == {}
    assert _errors(uri, production=False) == {}


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("myapp:/callback", "the myapp: scheme is not allowed"),
        ("javascript:alert(1)", "the javascript: scheme is not allowed"),
        ("data:text/html,hi", "the data: scheme is not allowed"),
        ("file:///etc/passwd", "the file: scheme is not allowed"),
        ("Com.Example.App:/cb", "the Com.Example.App: scheme is not allowed"),
        ("com.example.:/cb", "scheme is not allowed"),
        ("com.example.app:", "must have a path after the scheme"),
        ("com.example.app:/", "must have a path after the scheme"),
        ("com.example.app:/cb#frag", "must not contain a fragment"),
        ("com.example.app:/c b", "without spaces"),
        ("http://app.example.com/cb", "must use https, a loopback address"),
        ("https://*.example.com/cb", "must not contain a wildcard"),
        ("/relative/cb", "has no scheme"),
    ],
)
def test_a_public_app_gets_a_clear_error_for_any_other_redirect_uri(uri: str, expected: str) -> None:
    errors = _errors(uri, production=False)
    assert list(errors) == ["redirect_uris"]
    assert expected in errors["redirect_uris"] and errors["redirect_uris"].startswith("Redirect URI 1")


def test_a_confidential_app_still_refuses_private_use_schemes() -> None:
    errors = _errors("com.example.app:/callback", client_type="confidential")
    assert "the com.example.app: scheme is not allowed" in errors["redirect_uris"]


def test_an_unknown_client_type_is_a_field_error() -> None:
    assert _errors("https://cli.example.com/cb", client_type="secretive") == {
        "client_type": "Client type must be one of: confidential, public"
    }


@pytest.mark.parametrize(
    ("uri", "source"),
    [
        ("com.example.app:/callback", "com.example.app:"),
        ("io.mavio.desktop-notes:/cb?x=1", "io.mavio.desktop-notes:"),
        ("http://127.0.0.1:53117/callback", "http://127.0.0.1:53117"),
        ("https://cli.example.com/done", "https://cli.example.com"),
    ],
)
def test_every_allowed_public_redirect_uri_has_a_form_action_source(uri: str, source: str) -> None:
    """The consent page's CSP form-action must allow the redirect: validation and the helper agree."""
    assert _errors(uri) == {}
    assert redirect_source(uri) == source


def _record(**overrides: Any) -> domain.AppRecord:
    base: dict[str, Any] = {
        "client_id": "mavio_client_AAAAAAAAAAAAAAAA",
        "name": "App",
        "homepage_url": "https://a.example",
        "redirect_uris": ["http://127.0.0.1/cb"],
        "scopes": ["users:read"],
        "owner_id": "usr_owner",
        "created_at": NOW,
        "updated_at": NOW,
        "secret_hash": "",
    }
    return domain.AppRecord(**{**base, **overrides})


def test_a_public_app_authenticates_with_its_client_id_alone() -> None:
    public = _record(client_type="public")
    assert client_authenticated(public, "", SIGNER, now=NOW)
    assert not client_authenticated(public, "anything", SIGNER, now=NOW)
    secret, signature = client_secrets.issue_secret(SIGNER)
    assert not client_authenticated(
        _record(client_type="public", secret_hash=signature), secret, SIGNER, now=NOW
    )


def test_a_confidential_app_needs_its_secret() -> None:
    secret, signature = client_secrets.issue_secret(SIGNER)
    confidential = _record(secret_hash=signature)
    assert confidential.client_type == "confidential"  # the default, and that of every older record
    assert client_authenticated(confidential, secret, SIGNER, now=NOW)
    assert not client_authenticated(confidential, "", SIGNER, now=NOW)
    assert not client_authenticated(_record(), "", SIGNER, now=NOW)  # no hash, no secret: still refused
    assert not client_authenticated(None, "", SIGNER, now=NOW)
    assert not client_authenticated(None, secret, SIGNER, now=NOW)
