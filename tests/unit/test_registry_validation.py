"""App registration validation: every rule on both sides, production vs development."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from shared.apps.settings import AppSettings, validate_app
from shared.apps.validation import is_loopback_redirect, parse_redirect_uris_text
from shared.errors import OAuthError, ValidationFailed
from shared.scopes import ScopeCatalog
from shared.text import BIDI_CONTROLS

CATALOG = ScopeCatalog.load()
HTTPS_REQUIRED = "must use https (http is only allowed for 127.0.0.1, [::1] and localhost)"


def _app(**overrides: Any) -> AppSettings:
    fields: dict[str, Any] = {
        "name": "Mavio Notes",
        "description": "Syncs meeting notes",
        "homepage_url": "https://notes.example.com",
        "redirect_uris": ["https://notes.example.com/callback"],
        "scopes": ["meetings:read"],
    }
    fields.update(overrides)
    return AppSettings(**fields)


def _fields(app: AppSettings, *, production: bool = True) -> dict[str, str]:
    """The field errors of ``app``; an empty dict when it validates."""
    try:
        validate_app(app, catalog=CATALOG, production=production)
    except ValidationFailed as exc:
        return exc.fields
    return {}


def _field(field: str, value: Any, message: str | None, *, production: bool = True) -> None:
    expected = {} if message is None else {field: message}
    assert _fields(_app(**{field: value}), production=production) == expected


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"name": "  Mavio Notes \n"}, {"name": "Mavio Notes"}),
        ({"description": "\t Notes  "}, {"description": "Notes"}),
        ({"homepage_url": " https://notes.example.com/ "}, {"homepage_url": "https://notes.example.com/"}),
        (
            {"redirect_uris": [" https://a.example/cb ", "", "https://b.example/cb", "https://a.example/cb"]},
            {"redirect_uris": ["https://a.example/cb", "https://b.example/cb"]},
        ),
        (
            {"redirect_uris": ["https://b.example/cb", "https://a.example/cb", "https://b.example/cb"]},
            {"redirect_uris": ["https://b.example/cb", "https://a.example/cb"]},
        ),
        (
            {"scopes": ["users:read", " meetings:read", "users:read", "", "webhooks:write"]},
            {"scopes": ["meetings:read", "users:read", "webhooks:write"]},
        ),
        ({"scopes": list(reversed(CATALOG.names()))}, {"scopes": list(CATALOG.names())}),
    ],
)
def test_valid_input_is_normalised(overrides: dict[str, Any], expected: dict[str, Any]) -> None:
    result = validate_app(_app(**overrides), catalog=CATALOG, production=True)
    assert isinstance(result, AppSettings)
    assert {k: getattr(result, k) for k in expected} == expected


def test_untouched_input_comes_back_equal() -> None:
    assert validate_app(_app(), catalog=CATALOG, production=True) == _app()


def test_description_defaults_to_empty() -> None:
    app = msgspec.json.decode(
        b'{"name":"N","homepage_url":"https://n.example","redirect_uris":["https://n.example/cb"],'
        b'"scopes":["users:read"]}',
        type=AppSettings,
    )
    assert validate_app(app, catalog=CATALOG, production=True).description == ""


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("A", None),
        ("x" * 64, None),
        ("  " + "x" * 64 + "  ", None),
        ("Café ☕ Notes", None),
        ("", "Name is required"),
        ("   \t ", "Name is required"),
        ("x" * 65, "Name must be at most 64 characters (it has 65)"),
        ("Bad\x00name", "Name must not contain control characters"),
        ("Tab\tname", "Name must not contain control characters"),
        ("Two\nlines", "Name must not contain control characters"),
        ("Esc\x1bname", "Name must not contain control characters"),
        ("Del\x7fname", "Name must not contain control characters"),
        ("evil\u202egnp.exe", "Name must not contain control characters"),
        ("line\u2028sep", "Name must not contain control characters"),
    ],
)
def test_name(name: str, message: str | None) -> None:
    _field("name", name, message)


@pytest.mark.parametrize(
    ("description", "message"),
    [
        ("", None),
        ("x" * 500, None),
        (" " + "x" * 500 + "\n", None),
        ("Two\nparagraphs", None),
        ("x" * 501, "Description must be at most 500 characters (it has 501)"),
    ],
)
def test_description(description: str, message: str | None) -> None:
    _field("description", description, message)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://notes.example.com", None),
        ("http://notes.example.com/about", None),
        ("https://notes.example.com:8443/x?y=1#top", None),
        ("", "Homepage URL is required"),
        ("  ", "Homepage URL is required"),
        (
            "notes.example.com",
            "Homepage URL (notes.example.com) must be an absolute URL starting with https:// or http://",
        ),
        (
            "ftp://notes.example.com",
            "Homepage URL (ftp://notes.example.com) must start with https:// or http:// "
            "(the ftp: scheme is not allowed)",
        ),
        (
            "javascript:alert(1)",
            "Homepage URL (javascript:alert(1)) must start with https:// or http:// "
            "(the javascript: scheme is not allowed)",
        ),
        ("https://", "Homepage URL (https://) must be an absolute URL with a host"),
        ("https:///about", "Homepage URL (https:///about) must be an absolute URL with a host"),
        (
            "https://bank.example@evil.example",
            "Homepage URL (https://bank.example@evil.example) must not contain a username or password",
        ),
        ("https://n.example:99999/", "Homepage URL (https://n.example:99999/) has an invalid port"),
        ("https://n.example:http/", "Homepage URL (https://n.example:http/) has an invalid port"),
        (
            "https://exa mple.com",
            "Homepage URL (https://exa mple.com) must not contain spaces or control characters",
        ),
        ("http://[::1", "Homepage URL (http://[::1) is not a valid URL"),
    ],
)
def test_homepage_url(url: str, message: str | None) -> None:
    _field("homepage_url", url, message)


def _uri_error(uri: str, problem: str) -> str:
    return f"Redirect URI 1 ({uri}) {problem}"


@pytest.mark.parametrize(
    ("uri", "production", "problem"),
    [
        # https is always fine; http only in development unless loopback (RFC 8252 §7.3, §8.3)
        ("https://notes.example.com/cb", True, None),
        ("https://notes.example.com:8443/cb?tenant=1", True, None),
        ("http://notes.example.com/cb", False, None),
        ("http://notes.example.com/cb", True, HTTPS_REQUIRED),
        ("http://127.0.0.1/cb", True, None),
        ("http://127.0.0.1:53123/cb", True, None),
        ("http://[::1]/cb", True, None),
        ("http://[::1]:8765/cb", True, None),
        ("http://localhost/cb", True, None),
        ("http://localhost:3000/callback", True, None),
        ("http://LOCALHOST:3000/cb", True, None),
        ("http://127.0.0.2/cb", True, HTTPS_REQUIRED),
        ("http://127.0.0.2/cb", False, None),
        ("http://localhost.evil.com/cb", True, HTTPS_REQUIRED),
        ("http://evil.com/localhost", True, HTTPS_REQUIRED),
        ("http://[::2]:8765/cb", True, HTTPS_REQUIRED),
        ("http://0.0.0.0/cb", True, HTTPS_REQUIRED),
        # never allowed, in either mode
        ("https://notes.example.com/cb#", False, "must not contain a fragment (#)"),
        ("https://notes.example.com/cb#top", True, "must not contain a fragment (#)"),
        ("https://*.example.com/cb", False, "must not contain a wildcard (*)"),
        ("https://notes.example.com/*", True, "must not contain a wildcard (*)"),
        ("https://notes.example.com/cb?x=*", True, "must not contain a wildcard (*)"),
        ("https://user@notes.example.com/cb", False, "must not contain a username or password"),
        ("http://user:pw@localhost/cb", True, "must not contain a username or password"),
        ("https://notes.example.com:abc/cb", False, "has an invalid port"),
        ("https://notes.example.com:70000/cb", True, "has an invalid port"),
        ("http://[::1]:99999/cb", True, "has an invalid port"),
        ("https://notes.example.com/c b", False, "must not contain spaces or control characters"),
        ("https://notes.exa\tmple.com/cb", False, "must not contain spaces or control characters"),
        ("http://[::1/cb", False, "is not a valid URL"),
        ("/callback", False, "must be an absolute URL starting with https:// or http://"),
        ("notes.example.com/cb", False, "must be an absolute URL starting with https:// or http://"),
        ("localhost:8080/cb", False, "must be an absolute URL starting with https:// or http://"),
        ("https:///cb", False, "must be an absolute URL with a host"),
        ("http:cb", False, "must be an absolute URL with a host"),
        (
            "javascript:alert(1)",
            False,
            "must start with https:// or http:// (the javascript: scheme is not allowed)",
        ),
        (
            "data:text/html,hi",
            False,
            "must start with https:// or http:// (the data: scheme is not allowed)",
        ),
        (
            "com.mavio.notes:/oauth",
            False,
            "must start with https:// or http:// (the com.mavio.notes: scheme is not allowed)",
        ),
        (
            "file:///etc/passwd",
            False,
            "must start with https:// or http:// (the file: scheme is not allowed)",
        ),
    ],
)
def test_redirect_uri_rules(uri: str, production: bool, problem: str | None) -> None:
    message = None if problem is None else _uri_error(uri, problem)
    _field("redirect_uris", [uri], message, production=production)


_TEN = [f"https://notes.example.com/cb{i}" for i in range(10)]


@pytest.mark.parametrize(
    ("uris", "message"),
    [
        ([], "Add at least one redirect URI"),
        (["", "  ", "\t"], "Add at least one redirect URI"),
        (_TEN, None),
        ([*_TEN, _TEN[0], _TEN[3]], None),
        ([*_TEN, "https://notes.example.com/cb10"], "At most 10 redirect URIs are allowed (there are 11)"),
        (
            ["https://a.example/1", "https://a.example/2", "http://x/#a"],
            "Redirect URI 3 (http://x/#a) must not contain a fragment (#)",
        ),
        (
            ["https://a.example/1", "", "  ", "http://x/#a"],
            "Redirect URI 2 (http://x/#a) must not contain a fragment (#)",
        ),
        (
            ["https://a.example/1", "https://a.example/1", "http://x/#a", "http://x/#a"],
            "Redirect URI 3 (http://x/#a) must not contain a fragment (#)",
        ),
        (
            ["http://x/#a", "https://ok.example/cb", "https://*.example/cb"],
            "Redirect URI 1 (http://x/#a) must not contain a fragment (#); "
            "Redirect URI 3 (https://*.example/cb) must not contain a wildcard (*)",
        ),
        (
            ["https://a.example/" + "x" * 200 + "#f"],
            f"Redirect URI 1 (https://a.example/{'x' * 59}...) must not contain a fragment (#)",
        ),
    ],
)
def test_redirect_uri_list(uris: list[str], message: str | None) -> None:
    _field("redirect_uris", uris, message)


@pytest.mark.parametrize(
    ("scopes", "message"),
    [
        (["meetings:read"], None),
        (list(CATALOG.names()), None),
        ([], "Choose at least one scope"),
        (["", "  "], "Choose at least one scope"),
        (["meetings:delete"], "Unknown scope: meetings:delete"),
        (["meetings:read", "admin", "admin", "address"], "Unknown scopes: admin, address"),
        (["meetings:read users:read"], "Unknown scope: meetings:read users:read"),
        (["Meetings:Read"], "Unknown scope: Meetings:Read"),
    ],
)
def test_scopes(scopes: list[str], message: str | None) -> None:
    _field("scopes", scopes, message)


def test_every_failing_field_is_reported_at_once() -> None:
    app = AppSettings(
        name="",
        description="d" * 501,
        homepage_url="notes",
        redirect_uris=["javascript:alert(1)"],
        scopes=["nope"],
    )
    with pytest.raises(ValidationFailed) as caught:
        validate_app(app, catalog=CATALOG, production=False)
    assert caught.value.fields == {
        "name": "Name is required",
        "description": "Description must be at most 500 characters (it has 501)",
        "homepage_url": "Homepage URL (notes) must be an absolute URL starting with https:// or http://",
        "redirect_uris": "Redirect URI 1 (javascript:alert(1)) must start with https:// or http:// "
        "(the javascript: scheme is not allowed)",
        "scopes": "Unknown scope: nope",
    }
    assert isinstance(caught.value, OAuthError)
    assert caught.value.error == "validation_failed"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("  \n\t\n", []),
        ("https://a/cb", ["https://a/cb"]),
        ("https://a/cb\nhttps://b/cb", ["https://a/cb", "https://b/cb"]),
        ("https://a/cb\r\nhttps://b/cb\r\n", ["https://a/cb", "https://b/cb"]),
        ("https://a/cb\rhttps://b/cb", ["https://a/cb", "https://b/cb"]),
        ("\n\n  https://a/cb  \n\r\n\t https://b/cb\t\n\n", ["https://a/cb", "https://b/cb"]),
        ("https://a/cb\nhttps://a/cb", ["https://a/cb", "https://a/cb"]),
    ],
)
def test_parse_redirect_uris_text(text: str, expected: list[str]) -> None:
    assert parse_redirect_uris_text(text) == expected


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("http://127.0.0.1/cb", True),
        ("http://127.0.0.1:8080/cb", True),
        ("http://127.0.0.1", True),
        ("http://[::1]/cb", True),
        ("http://[::1]:8765/cb", True),
        ("http://localhost/cb", True),
        ("http://localhost:3000/cb", True),
        ("http://LocalHost:3000/cb", True),
        ("https://127.0.0.1/cb", False),
        ("https://localhost/cb", False),
        ("http://127.0.0.2/cb", False),
        ("http://127.1/cb", False),
        ("http://[::2]/cb", False),
        ("http://[::ffff:127.0.0.1]/cb", False),
        ("http://0.0.0.0/cb", False),
        ("http://localhost.evil.com/cb", False),
        ("http://127.0.0.1.evil.com/cb", False),
        ("http://evil.com/localhost", False),
        ("http://localhost@evil.com/cb", False),
        ("http://evil.com@localhost/cb", False),
        ("http://local\thost/cb", False),
        ("http://[::1/cb", False),
        ("http://localhost:abc/cb", False),
        ("localhost:8080/cb", False),
        ("", False),
    ],
)
def test_is_loopback_redirect(uri: str, expected: bool) -> None:
    assert is_loopback_redirect(uri) is expected


@pytest.mark.parametrize("char", sorted(BIDI_CONTROLS))
@pytest.mark.parametrize("field", ["name", "description", "homepage_url", "redirect_uris"])
def test_bidi_controls_are_refused_in_every_shown_field(field: str, char: str) -> None:
    """U+202E and friends make the consent page show text other than what is stored (issue 13)."""
    values = {
        "name": "Notes" + char + "Sync",
        "description": "Syncs" + char + " notes",
        "homepage_url": "https://app.example/" + char + "gpj.exe",
        "redirect_uris": ["https://app.example/cb" + char],
    }
    good = AppSettings(
        name="Notes Sync",
        description="Syncs notes",
        homepage_url="https://app.example",
        redirect_uris=["https://app.example/cb"],
        scopes=["meetings:read"],
    )
    bad = msgspec.structs.replace(good, **{field: values[field]})
    with pytest.raises(ValidationFailed) as caught:
        validate_app(bad, catalog=ScopeCatalog.load(), production=False)
    assert set(caught.value.fields) == {field}


def test_bidi_controls_are_refused_in_account_names_and_emails() -> None:
    from shared.accounts.records import email_problem, name_problem

    assert name_problem("Eve\u202eresU") is not None
    assert email_problem("eve\u2066@example.com") is not None
    assert email_problem("eve@example.com") is None


NOT_PUBLIC = "must point to a public address (this one is {})"
DEV_HTTPS = "must use https (http is only allowed for 127.0.0.1, [::1] and localhost in development)"


@pytest.mark.parametrize(
    ("url", "production", "problem"),
    [
        ("", True, None),  # none
        ("https://hooks.example/in", True, None),
        ("https://8.8.8.8/in", True, None),
        ("https://[2001:4860:4860::8888]/in", True, None),
        ("http://hooks.example/in", True, "must use https"),
        ("http://127.0.0.1:8400/in", True, "must use https"),
        ("https://127.0.0.1/in", True, NOT_PUBLIC.format("loopback")),
        ("https://127.9.9.9/in", True, NOT_PUBLIC.format("loopback")),
        ("https://localhost/in", True, NOT_PUBLIC.format("loopback")),
        ("https://api.localhost/in", True, NOT_PUBLIC.format("loopback")),
        ("https://10.0.0.1/in", True, NOT_PUBLIC.format("private")),
        ("https://172.16.5.4/in", True, NOT_PUBLIC.format("private")),
        ("https://192.168.1.1/in", True, NOT_PUBLIC.format("private")),
        ("https://169.254.169.254/latest", True, NOT_PUBLIC.format("cloud metadata")),
        ("https://100.64.0.1/in", True, NOT_PUBLIC.format("carrier-grade NAT")),
        ("https://0.0.0.0/in", True, NOT_PUBLIC.format("unspecified")),
        ("https://224.0.0.1/in", True, NOT_PUBLIC.format("multicast")),
        ("https://[::1]/in", True, NOT_PUBLIC.format("loopback")),
        ("https://[::ffff:127.0.0.1]/in", True, NOT_PUBLIC.format("loopback (IPv4 inside IPv6)")),
        ("https://[::ffff:10.0.0.1]/in", True, NOT_PUBLIC.format("private (IPv4 inside IPv6)")),
        ("https://[fe80::1]/in", True, NOT_PUBLIC.format("link-local")),
        ("https://[fc00::1]/in", True, NOT_PUBLIC.format("private")),
        ("https://[fd00:ec2::254]/in", True, NOT_PUBLIC.format("cloud metadata")),
        ("http://127.0.0.1:8400/in", False, None),
        ("http://localhost:8400/in", False, None),
        ("http://[::1]:8400/in", False, None),
        ("https://10.0.0.1/in", False, None),  # development: the operator's own network
        ("http://hooks.example/in", False, DEV_HTTPS),
        ("https://hooks.example/in#x", True, "must not contain a fragment (#)"),
        (
            "ftp://hooks.example/in",
            True,
            "must start with https:// or http:// (the ftp: scheme is not allowed)",
        ),
        ("https://u:p@hooks.example/in", True, "must not contain a username or password"),
        ("https://hooks.example:99999/in", True, "has an invalid port"),
    ],
)
def test_webhook_url(url: str, production: bool, problem: str | None) -> None:
    message = None if problem is None else f"Webhook URL ({url}) {problem}"
    _field("webhook_url", url, message, production=production)


def test_a_webhook_url_is_stripped() -> None:
    assert (
        validate_app(
            _app(webhook_url="  https://hooks.example/in \n"), catalog=CATALOG, production=True
        ).webhook_url
        == "https://hooks.example/in"
    )
