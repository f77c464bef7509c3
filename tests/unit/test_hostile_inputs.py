"""Property tests (hypothesis) of every parser and validator that reads request text: form bodies,
HTTP Basic credentials, scope strings, redirect URIs (registration and matching), ``next`` paths, token
strings. Each either returns a well-formed value or raises the protocol error; nothing else escapes."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from services.authorize.checks import MAX_STATE_LENGTH, check_request
from services.authorize.redirect_match import redirect_uri_matches, resolve_redirect_uri
from services.gateway.form_action import redirect_source
from services.gateway.routes.token import MAX_FORM_FIELDS, parse_form_body
from services.gateway.web_helpers import safe_next
from shared import tokens
from shared.apps.settings import AppSettings, validate_app
from shared.apps.validation import is_loopback_redirect
from shared.client_auth import extract_client_credentials
from shared.errors import (
    BadRedirectUri,
    InvalidClient,
    InvalidClientBasic,
    InvalidRequest,
    OAuthError,
    ValidationFailed,
)
from shared.scopes import ScopeCatalog, join_scope, parse_scope

CATALOG = ScopeCatalog.load()
REGISTERED = "https://good.example/cb"
any_text = st.text(max_size=300)
ascii_printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)

# --- form bodies ---------------------------------------------------------------------------------------


@given(st.binary(max_size=2000))
@example(b"a=%ff")  # not UTF-8 once percent-decoded
@example(b"&".join(b"f%d=v" % i for i in range(MAX_FORM_FIELDS + 1)))
def test_any_form_body_parses_or_is_invalid_request(body: bytes) -> None:
    try:
        form = parse_form_body(body)
    except InvalidRequest:
        return
    assert all(isinstance(k, str) and all(isinstance(v, str) and v for v in vs) for k, vs in form.items())
    assert sum(len(vs) for vs in form.values()) <= MAX_FORM_FIELDS


@given(st.lists(st.tuples(st.text(min_size=1, max_size=20), st.text(min_size=1, max_size=40)), max_size=20))
def test_an_encoded_form_round_trips(pairs: list[tuple[str, str]]) -> None:
    form = parse_form_body(urlencode(pairs).encode())
    assert [(k, v) for k, vs in form.items() for v in vs] == sorted(
        pairs, key=lambda p: [k for k, _ in pairs].index(p[0])
    )


form_bytes = st.lists(
    st.sampled_from([b"a", b"=", b"&", b"+", b"%", b"%2", b"%41", b"%e2%82%ac", b"\xc3\xa9", b"b"]),
    max_size=60,
).map(b"".join)


@given(st.one_of(form_bytes, st.binary(max_size=300)))
@example(b"a=1&b=&c&=x&a=2")
@example(b"x=%zz&y=a+b%2Bc")
@example(b"&" * MAX_FORM_FIELDS)
@example(b"a=%ff")
def test_the_form_parser_agrees_with_the_stdlib(body: bytes) -> None:
    """Same fields, values and order as ``parse_qsl`` (strict UTF-8, blank values dropped), and
    ``InvalidRequest`` exactly where the stdlib raises."""
    try:
        expected: dict[str, list[str]] | None = {}
        for name, value in parse_qsl(body.decode("utf-8"), errors="strict", max_num_fields=MAX_FORM_FIELDS):
            expected.setdefault(name, []).append(value)  # type: ignore[union-attr]
    except ValueError:  # UnicodeDecodeError included
        expected = None
    if expected is None:
        with pytest.raises(InvalidRequest):
            parse_form_body(body)
    else:
        assert parse_form_body(body) == expected


# --- HTTP Basic credentials -----------------------------------------------------------------------------


def basic(raw: bytes | str) -> str:
    data = raw.encode() if isinstance(raw, str) else raw
    return "Basic " + base64.b64encode(data).decode()


@given(st.one_of(any_text, st.binary(max_size=200).map(lambda b: basic(b)), st.text(max_size=80).map(basic)))
@example("Basic %%%")  # not base64
@example(basic("no-colon-here"))
@example(basic(":only-a-secret"))
@example(basic("id%ZZ:secret"))  # bad percent-encoding
@example(basic(b"\xff\xfe:\x80"))  # not UTF-8
def test_any_authorization_header_gives_credentials_or_invalid_client(header: str) -> None:
    try:
        creds = extract_client_credentials(header, {})
    except (InvalidClient, InvalidRequest):
        return
    assert creds.method == "client_secret_basic" and creds.client_id and creds.client_secret


@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=60))
def test_percent_encoded_basic_credentials_round_trip(client_id: str, secret: str) -> None:
    """RFC 6749 §2.3.1: each part form-urlencoded before base64, so ':' and non-ASCII survive."""
    creds = extract_client_credentials(basic(f"{quote(client_id, safe='')}:{quote(secret, safe='')}"), {})
    assert (creds.client_id, creds.client_secret) == (client_id, secret)


@given(st.text(min_size=1, max_size=40).filter(lambda s: ":" not in s))
def test_basic_without_a_colon_is_invalid_client(value: str) -> None:
    with pytest.raises(InvalidClientBasic):
        extract_client_credentials(basic(quote(value, safe="")), {})


# --- scope strings ----------------------------------------------------------------------------------------


@given(any_text)
@example("meetings:read\n")
@example('meetings:read "x"')
def test_any_scope_string_parses_to_rfc_tokens_or_is_refused(value: str) -> None:
    try:
        names = parse_scope(value)
    except ValueError:
        return
    for name in names:
        assert name and all(0x21 <= ord(c) <= 0x7E and c not in '"\\' for c in name)
    assert parse_scope(join_scope(tuple(names))) == names


# --- redirect URIs: matching --------------------------------------------------------------------------------

HOSTILE_VARIANTS = [
    "https://good.example@evil.example/cb",
    "https://evil.example/cb?https://good.example/cb",
    "https://good.example\\@evil.example/cb",
    "https://good.example/cb/../../evil",
    "https://good.example/cb/..",
    "https://good.example:443/cb",
    "https://good.example:8443/cb",
    "https://GOOD.example/cb",
    "https://good.example/cb#frag",
    "https://good.example/cb/",
    "https://good.example/Cb",
    "https://g\u043e\u043ed.example/cb",  # Cyrillic o
    "https://xn--gd-jlca.example/cb",
    "http://good.example/cb",
    "https://good.example/cb%2f..%2fevil",
    "https://good.example./cb",
    " https://good.example/cb",
]


@dataclass
class App:
    client_id: str = "mavio_client_0123456789abcdef"
    redirect_uris: list[str] = field(default_factory=lambda: [REGISTERED, "http://127.0.0.1/loop"])
    scopes: list[str] = field(default_factory=lambda: ["meetings:read"])


@pytest.mark.parametrize("requested", HOSTILE_VARIANTS)
def test_hostile_variants_of_a_registered_uri_never_match(requested: str) -> None:
    assert not redirect_uri_matches(REGISTERED, requested)
    with pytest.raises(BadRedirectUri):
        resolve_redirect_uri(App(), [("redirect_uri", requested)])


@given(any_text)
def test_only_the_exact_string_matches_a_non_loopback_uri(requested: str) -> None:
    assert redirect_uri_matches(REGISTERED, requested) is (requested == REGISTERED)


@given(st.integers(min_value=0, max_value=99999), st.sampled_from(["/loop", "/loop?x=1", "/other", ""]))
def test_a_loopback_uri_matches_any_valid_port_and_nothing_else(port: int, rest: str) -> None:
    requested = f"http://127.0.0.1:{port}{rest}"
    assert redirect_uri_matches("http://127.0.0.1/loop", requested) is (0 < port < 65536 and rest == "/loop")


@given(any_text)
def test_any_redirect_uri_parameter_is_resolved_or_refused_without_redirecting(requested: str) -> None:
    try:
        assert resolve_redirect_uri(App(), [("redirect_uri", requested)]) in [*App().redirect_uris, requested]
    except BadRedirectUri as exc:
        assert len(requested) < 12 or requested not in exc.description  # never echoed


# --- redirect URIs and text fields: registration ----------------------------------------------------------


@settings(max_examples=150)
@given(st.one_of(any_text, st.sampled_from(HOSTILE_VARIANTS), ascii_printable.map(lambda s: "https://" + s)))
def test_a_registered_redirect_uri_is_ascii_absolute_and_unambiguous(uri: str) -> None:
    raw = AppSettings(
        name="App", homepage_url="https://app.example", redirect_uris=[uri], scopes=["meetings:read"]
    )
    try:
        app = validate_app(raw, catalog=CATALOG, production=False)
    except ValidationFailed as exc:
        assert set(exc.fields) == {"redirect_uris"}
        return
    [saved] = app.redirect_uris
    parts = urlsplit(saved)
    assert saved.isascii() and "\\" not in saved and "#" not in saved and "*" not in saved
    assert parts.scheme in ("http", "https") and parts.hostname and "@" not in parts.netloc
    assert not any(c.isspace() for c in saved)


@settings(max_examples=150)
@given(
    st.one_of(
        any_text,
        st.sampled_from(HOSTILE_VARIANTS),
        ascii_printable.map(lambda s: "com.example.app:" + s),
        ascii_printable.map(lambda s: s + ":/cb"),
    )
)
def test_a_public_apps_redirect_uri_is_loopback_https_or_a_reverse_domain_scheme(uri: str) -> None:
    """RFC 8252 §7: what a public app may register, and that the consent page's CSP can name it."""
    raw = AppSettings(
        name="App", homepage_url="https://app.example", redirect_uris=[uri], scopes=["meetings:read"]
    )
    try:
        app = validate_app(raw, catalog=CATALOG, production=True, client_type="public")
    except ValidationFailed as exc:
        assert set(exc.fields) == {"redirect_uris"}
        return
    [saved] = app.redirect_uris
    scheme = saved.split(":", 1)[0]
    assert saved.isascii() and "\\" not in saved and "#" not in saved and "*" not in saved
    assert not any(c.isspace() or ord(c) < 32 for c in saved)
    if scheme in ("http", "https"):
        assert scheme == "https" or is_loopback_redirect(saved)
    else:
        assert "." in scheme and scheme == scheme.lower() and redirect_source(saved) == scheme + ":"
        assert scheme not in ("javascript", "data", "file")


@given(st.text(max_size=120), st.text(max_size=600))
def test_any_name_and_description_are_accepted_or_refused_by_field(name: str, description: str) -> None:
    raw = AppSettings(
        name=name,
        description=description,
        homepage_url="https://a.example",
        redirect_uris=[REGISTERED],
        scopes=["meetings:read"],
    )
    try:
        app = validate_app(raw, catalog=CATALOG, production=False)
    except ValidationFailed as exc:
        assert set(exc.fields) <= {"name", "description"}
        return
    assert not any(
        0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069 for c in app.name + app.description
    )


# --- next paths after sign-in -------------------------------------------------------------------------------


@given(any_text)
@example("//evil.example")
@example("/\\evil.example")
@example("/%2F/evil.example")
@example("https://evil.example")
def test_next_is_a_local_path_or_nothing(value: str) -> None:
    got = safe_next(value)
    if got is None:
        return
    parts = urlsplit(got)
    assert got.startswith("/") and not got.startswith("//") and "\\" not in got
    assert not parts.scheme and not parts.netloc


# --- authorization requests -------------------------------------------------------------------------------


@given(st.lists(st.tuples(st.sampled_from(["response_type", "scope", "state", "code_challenge",
                                          "code_challenge_method", "x"]), any_text), max_size=8))  # fmt: skip
def test_any_authorization_query_is_checked_or_an_oauth_error(extra: list[tuple[str, str]]) -> None:
    try:
        req = check_request(App(), REGISTERED, extra, catalog=CATALOG)
    except OAuthError as exc:
        assert exc.error in {"invalid_request", "invalid_scope", "unsupported_response_type"}
        return
    assert req.state is None or len(req.state) <= MAX_STATE_LENGTH


# --- token strings ----------------------------------------------------------------------------------------

FAMILY = "0123456789abcdef"


@given(st.one_of(any_text, st.text(max_size=100_000).map(lambda s: "mavio_at_" + s)))
def test_any_string_parses_as_a_token_only_when_well_formed(value: str) -> None:
    parsed = tokens.parse(value)
    if parsed is not None:
        assert value.startswith(f"mavio_{parsed.kind}_") and len(value) == len(
            tokens.mint(parsed.kind, FAMILY)
        )  # type: ignore[arg-type]


@given(st.sampled_from(["at", "rt", "code"]), st.integers(min_value=0, max_value=53), st.data())
def test_a_changed_character_wrong_prefix_or_extra_length_is_refused(
    kind: str, at: int, data: st.DataObject
) -> None:
    token = tokens.mint(kind, FAMILY)  # type: ignore[arg-type]
    assert tokens.parse(token) == (kind, FAMILY)
    body_at = len(f"mavio_{kind}_") + at
    replacement = data.draw(st.sampled_from(tokens.ALPHABET).filter(lambda c: c != token[body_at]))
    changed = token[:body_at] + replacement + token[body_at + 1 :]
    assert tokens.parse(changed) is None  # CRC32 catches every single-character change
    other = "rt" if kind != "rt" else "at"
    assert tokens.parse(token, other) is None
    assert tokens.parse(token.replace(f"mavio_{kind}_", f"mavio_{other}_", 1)) is None
    assert tokens.parse(token + "0") is None and tokens.parse(token * 1000) is None


@given(any_text)
def test_any_string_is_a_client_secret_only_when_well_formed(value: str) -> None:
    assert not tokens.check_client_secret_format(value) or value.startswith("mavio_cs_")
    secret = tokens.mint_client_secret()
    assert tokens.check_client_secret_format(secret) and not tokens.check_client_secret_format(
        secret[:-1] + "!"
    )
