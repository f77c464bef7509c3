"""GET /oauth/authorize checks: RFC 6749 §3.1, §3.1.2, §4.1.1, §4.1.2.1; RFC 7636; RFC 8252 §7.3."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import msgspec
import pytest

from services.authorize.checks import (
    AuthorizationRequest,
    check_plan,
    check_request,
    client_id_from,
    code_redirect,
    error_redirect,
    resolve_redirect_uri,
    state_from,
)
from shared import errors
from shared.errors import (
    AccessDenied,
    BadRedirectUri,
    InvalidRequest,
    InvalidScope,
    OAuthError,
    ServerError,
    UnknownClient,
    UnsupportedResponseType,
    is_redirectable,
)
from shared.pkce import s256_challenge as pkce_s256
from shared.scopes import ScopeCatalog

CATALOG = ScopeCatalog.load()
CB = "https://app.example/cb"
# RFC 7636 Appendix B
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
ALL_SCOPES = list(CATALOG.names())


class App(msgspec.Struct, frozen=True, kw_only=True):
    """Stands in for the registry's AppView; mypy checks it satisfies RegisteredApp."""

    client_id: str = "app_1"
    redirect_uris: list[str]
    scopes: list[str]
    require_pkce: bool = False
    client_type: str = "confidential"


def app(
    *uris: str, scopes: list[str] | None = None, require_pkce: bool = False, client_type: str = "confidential"
) -> App:
    scopes = ALL_SCOPES if scopes is None else scopes
    return App(
        redirect_uris=list(uris or (CB,)), scopes=scopes, require_pkce=require_pkce, client_type=client_type
    )


def query(**overrides: str | None) -> list[tuple[str, str]]:
    """A valid request; an override of None drops the parameter."""
    base: dict[str, str | None] = {
        "client_id": "app_1",
        "redirect_uri": CB,
        "response_type": "code",
        "scope": "meetings:read",
        "state": "xyz",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }
    base.update(overrides)
    return [(k, v) for k, v in base.items() if v is not None]


def check(q: list[tuple[str, str]], the_app: App | None = None) -> AuthorizationRequest:
    return check_request(the_app or app(), CB, q, catalog=CATALOG)


# --- client_id: never redirect ------------------------------------------------------------------


def test_client_id_from_returns_the_single_value() -> None:
    assert client_id_from(query()) == "app_1"


@pytest.mark.parametrize(
    ("q", "words"),
    [
        pytest.param(query(client_id=None), "required", id="missing"),
        pytest.param(query(client_id=""), "required", id="empty-counts-as-missing"),
        pytest.param([*query(), ("client_id", "app_1")], "repeated", id="repeated-same"),
        pytest.param([*query(), ("client_id", "app_2")], "repeated", id="repeated-different"),
    ],
)
def test_client_id_missing_or_repeated_never_redirects(q: list[tuple[str, str]], words: str) -> None:
    with pytest.raises(UnknownClient) as exc:
        client_id_from(q)
    assert exc.value.error == "invalid_client"
    assert exc.value.status == 400
    assert not is_redirectable(exc.value)
    assert words in exc.value.description


def test_unknown_client_default_description() -> None:
    err = UnknownClient()
    assert (err.error, err.description, err.status) == ("invalid_client", "Unknown or deleted client_id", 400)
    assert not is_redirectable(err)


# --- redirect_uri: exact match, loopback any port --------------------------------------------

MATCHES = [
    # (registered, requested, accepted)
    pytest.param(CB, CB, True, id="exact"),
    pytest.param(CB, CB + "/", False, id="added-trailing-slash"),
    pytest.param(CB + "/", CB, False, id="removed-trailing-slash"),
    pytest.param(CB, "https://app.example:8443/cb", False, id="added-port"),
    pytest.param("https://app.example:8443/cb", "https://app.example:9443/cb", False, id="different-port"),
    pytest.param(CB, "https://app.example:443/cb", False, id="explicit-default-port"),
    pytest.param(CB, "http://app.example/cb", False, id="http-vs-https"),
    pytest.param(CB, "HTTPS://app.example/cb", False, id="scheme-case"),
    pytest.param(CB, "https://APP.example/cb", False, id="host-case"),
    pytest.param(CB, "https://app.example/CB", False, id="path-case"),
    pytest.param(CB, "https://app.example/cb?x=1", False, id="added-query"),
    pytest.param(CB + "?tenant=a", CB + "?tenant=b", False, id="different-query"),
    pytest.param(CB + "?tenant=a", CB + "?tenant=a&x=1", False, id="added-query-param"),
    pytest.param(CB + "?a=1&b=2", CB + "?b=2&a=1", False, id="reordered-query"),
    pytest.param(CB + "?tenant=a", CB + "?tenant=a", True, id="exact-with-query"),
    pytest.param(CB, "https://app.example/cb/../cb", False, id="dot-segments"),
    pytest.param(CB, "https://app.example/%63b", False, id="percent-encoded-path"),
    pytest.param(CB, "https://app.example.evil.test/cb", False, id="suffix-host"),
    pytest.param(CB, "https://app.example@evil.test/cb", False, id="userinfo"),
    pytest.param(CB, "https://app.example/cb/extra", False, id="longer-path"),
    pytest.param(CB, "https://app.example/c", False, id="prefix-path"),
    # RFC 8252 §7.3: loopback, any port
    pytest.param("http://127.0.0.1/cb", "http://127.0.0.1:51004/cb", True, id="ipv4-any-port"),
    pytest.param("http://127.0.0.1:8080/cb", "http://127.0.0.1:9090/cb", True, id="ipv4-other-port"),
    pytest.param("http://127.0.0.1:8080/cb", "http://127.0.0.1/cb", True, id="ipv4-no-port"),
    pytest.param("http://[::1]/cb", "http://[::1]:65535/cb", True, id="ipv6-any-port"),
    pytest.param("http://localhost/cb", "http://localhost:3000/cb", True, id="localhost-any-port"),
    pytest.param("http://127.0.0.1", "http://127.0.0.1:5000", True, id="ipv4-no-path"),
    pytest.param("http://127.0.0.1/cb?x=1", "http://127.0.0.1:5000/cb?x=1", True, id="ipv4-same-query"),
    pytest.param("http://127.0.0.1/cb", "http://127.0.0.1:5000/cb/", False, id="loopback-trailing-slash"),
    pytest.param("http://127.0.0.1/cb", "http://127.0.0.1:5000/CB", False, id="loopback-path-case"),
    pytest.param("http://127.0.0.1/cb", "http://127.0.0.1:5000/cb?x=1", False, id="loopback-added-query"),
    pytest.param("http://127.0.0.1/cb", "http://127.0.0.1:5000/cb#f", False, id="loopback-fragment"),
    pytest.param("http://127.0.0.1/cb", "http://[::1]:5000/cb", False, id="loopback-other-host"),
    pytest.param("http://localhost/cb", "http://127.0.0.1:5000/cb", False, id="localhost-vs-ipv4"),
    pytest.param("http://localhost/cb", "http://LOCALHOST:5000/cb", False, id="localhost-case"),
    pytest.param("http://127.0.0.1/cb", "https://127.0.0.1:5000/cb", False, id="loopback-https"),
    pytest.param("http://127.0.0.1/cb", "http://127.0.0.1:0/cb", False, id="loopback-port-zero"),
    pytest.param("http://127.0.0.1/cb", "http://127.0.0.1:65536/cb", False, id="loopback-port-too-big"),
    pytest.param("http://127.0.0.1/cb", "http://127.0.0.1:/cb", False, id="loopback-empty-port"),
    pytest.param("http://127.0.0.1/cb", "http://127.0.0.1:80@evil.test/cb", False, id="loopback-userinfo"),
    pytest.param("http://127.0.0.1/cb", "http://127.0.0.1.evil.test:80/cb", False, id="loopback-suffix"),
    pytest.param("http://localhost/cb", "http://localhost:80\\@evil.test/cb", False, id="loopback-backslash"),
    pytest.param("http://127.0.0.2/cb", "http://127.0.0.2:5000/cb", False, id="other-127-address"),
    # not loopback: the port is exact
    pytest.param("http://app.example/cb", "http://app.example:8080/cb", False, id="non-loopback-http"),
    pytest.param("https://localhost/cb", "https://localhost:8443/cb", False, id="https-localhost"),
    pytest.param("http://0.0.0.0/cb", "http://0.0.0.0:5000/cb", False, id="unspecified-address"),
]


@pytest.mark.parametrize(("registered", "requested", "accepted"), MATCHES)
def test_redirect_uri_matching(registered: str, requested: str, accepted: bool) -> None:
    q = query(redirect_uri=requested)
    if accepted:
        assert resolve_redirect_uri(app(registered), q) == requested
    else:
        with pytest.raises(BadRedirectUri) as exc:
            resolve_redirect_uri(app(registered), q)
        assert exc.value.error == "invalid_request"
        assert not is_redirectable(exc.value)


def test_mismatch_description_says_exact_match() -> None:
    with pytest.raises(BadRedirectUri) as exc:
        resolve_redirect_uri(app(CB), query(redirect_uri=CB + "/"))
    assert exc.value.description == (
        "redirect_uri must exactly match one of the app's registered redirect URIs"
    )
    assert exc.value.status == 400


def test_any_registered_uri_may_be_requested() -> None:
    other = "https://app.example/other"
    assert resolve_redirect_uri(app(CB, other), query(redirect_uri=other)) == other


def test_fragment_is_refused_even_when_registered() -> None:
    with pytest.raises(BadRedirectUri, match="fragment"):
        resolve_redirect_uri(app(CB + "#x"), query(redirect_uri=CB + "#x"))


@pytest.mark.parametrize("omitted", [None, ""], ids=["absent", "empty"])
def test_omitted_redirect_uri_with_one_registered_uses_it(omitted: str | None) -> None:
    assert resolve_redirect_uri(app(CB), query(redirect_uri=omitted)) == CB


@pytest.mark.parametrize(
    ("uris", "words"),
    [
        pytest.param((CB, "https://app.example/two"), "required", id="two-registered"),
        pytest.param((), "no registered", id="none-registered"),
    ],
)
def test_omitted_redirect_uri_otherwise_never_redirects(uris: tuple[str, ...], words: str) -> None:
    the_app = App(redirect_uris=list(uris), scopes=ALL_SCOPES)
    with pytest.raises(BadRedirectUri) as exc:
        resolve_redirect_uri(the_app, query(redirect_uri=None))
    assert exc.value.error == "invalid_request"
    assert not is_redirectable(exc.value)
    assert words in exc.value.description


@pytest.mark.parametrize("second", [CB, "https://evil.test/cb"], ids=["same", "different"])
def test_repeated_redirect_uri_never_redirects(second: str) -> None:
    with pytest.raises(BadRedirectUri, match="repeated") as exc:
        resolve_redirect_uri(app(CB), [*query(), ("redirect_uri", second)])
    assert not is_redirectable(exc.value)


# --- check_request: the redirectable checks -------------------------------------------------


def test_valid_request() -> None:
    assert check(query(scope="users:read meetings:read")) == AuthorizationRequest(
        client_id="app_1",
        redirect_uri=CB,
        scopes=("meetings:read", "users:read"),
        state="xyz",
        code_challenge=CHALLENGE,
        code_challenge_method="S256",
    )


def test_valid_request_without_optional_parameters() -> None:
    q = query(state=None, code_challenge=None, code_challenge_method=None, redirect_uri=None)
    req = check(q)
    assert (req.state, req.code_challenge, req.code_challenge_method) == (None, None, None)


@pytest.mark.parametrize(
    "name",
    [
        "client_id",
        "redirect_uri",
        "response_type",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
    ],
)
def test_repeated_parameter_is_invalid_request(name: str) -> None:
    q = query()
    q.append((name, dict(q)[name]))
    with pytest.raises(InvalidRequest) as exc:
        check(q)
    assert exc.value.error == "invalid_request"
    assert is_redirectable(exc.value)
    assert name in exc.value.description


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param([("utm_source", "x")], id="unknown"),
        pytest.param([("utm_source", "x"), ("utm_source", "y")], id="unknown-repeated"),
        pytest.param([("nonce", "n"), ("prompt", "login")], id="oidc-ish"),
        pytest.param([("state", "")], id="empty-duplicate-counts-as-omitted"),
    ],
)
def test_unknown_parameters_are_ignored(extra: list[tuple[str, str]]) -> None:
    assert check([*query(), *extra]).state == "xyz"


@pytest.mark.parametrize(
    ("response_type", "error_type", "error"),
    [
        pytest.param(None, InvalidRequest, "invalid_request", id="missing"),
        pytest.param("", InvalidRequest, "invalid_request", id="empty"),
        pytest.param("token", UnsupportedResponseType, "unsupported_response_type", id="token"),
        pytest.param("code id_token", UnsupportedResponseType, "unsupported_response_type", id="hybrid"),
        pytest.param("id_token", UnsupportedResponseType, "unsupported_response_type", id="id_token"),
        pytest.param("CODE", UnsupportedResponseType, "unsupported_response_type", id="upper-case"),
        pytest.param("code ", UnsupportedResponseType, "unsupported_response_type", id="trailing-space"),
    ],
)
def test_response_type(response_type: str | None, error_type: type[OAuthError], error: str) -> None:
    with pytest.raises(error_type) as exc:
        check(query(response_type=response_type))
    assert exc.value.error == error
    assert is_redirectable(exc.value)


def test_response_type_code_is_accepted() -> None:
    assert check(query(response_type="code")).client_id == "app_1"


PKCE_REFUSED = [
    # (code_challenge, code_challenge_method, words in description)
    pytest.param(None, "S256", "without code_challenge", id="method-without-challenge"),
    pytest.param(CHALLENGE, None, "only S256", id="challenge-without-method"),
    pytest.param(CHALLENGE, "", "only S256", id="challenge-with-empty-method"),
    pytest.param(VERIFIER, "plain", "only S256", id="plain"),
    pytest.param(CHALLENGE, "s256", "only S256", id="lower-case-s256"),
    pytest.param(CHALLENGE, "S512", "only S256", id="unknown-method"),
    pytest.param("a" * 42, "S256", "43 to 128", id="too-short"),
    pytest.param("a" * 129, "S256", "43 to 128", id="too-long"),
    pytest.param(CHALLENGE[:-1] + "=", "S256", "43 to 128", id="padding-char"),
    pytest.param(CHALLENGE[:-1] + "+", "S256", "43 to 128", id="base64-plus"),
    pytest.param(CHALLENGE[:-1] + "/", "S256", "43 to 128", id="base64-slash"),
    pytest.param(CHALLENGE[:-1] + " ", "S256", "43 to 128", id="space"),
    pytest.param(CHALLENGE + "\n", "S256", "43 to 128", id="trailing-newline"),
    pytest.param(CHALLENGE[:-1] + "é", "S256", "43 to 128", id="non-ascii"),
    pytest.param(CHALLENGE + "=", "S256", "43 to 128", id="padded-44"),
    pytest.param(CHALLENGE + "A", "S256", "exactly 43", id="44-chars"),
    pytest.param("a" * 64, "S256", "exactly 43", id="64-chars-not-s256"),
    pytest.param(CHALLENGE[:-1] + "~", "S256", "exactly 43", id="tilde-not-base64url"),
    pytest.param(CHALLENGE[:-1] + ".", "S256", "exactly 43", id="dot-not-base64url"),
]


@pytest.mark.parametrize(("challenge", "method", "words"), PKCE_REFUSED)
def test_pkce_refused(challenge: str | None, method: str | None, words: str) -> None:
    with pytest.raises(InvalidRequest) as exc:
        check(query(code_challenge=challenge, code_challenge_method=method))
    assert exc.value.error == "invalid_request"
    assert is_redirectable(exc.value)
    assert words in exc.value.description


@pytest.mark.parametrize(
    "challenge", [CHALLENGE, pkce_s256("x" * 43), pkce_s256("y" * 128), "-" * 43, "_" * 43]
)
def test_pkce_s256_accepted(challenge: str) -> None:
    req = check(query(code_challenge=challenge))
    assert (req.code_challenge, req.code_challenge_method) == (challenge, "S256")


def test_pkce_s256_matches_rfc7636_appendix_b() -> None:
    assert pkce_s256(VERIFIER) == CHALLENGE
    assert len(pkce_s256("anything")) == 43


SCOPE_REFUSED = [
    # (scope, approved at registration, words in description)
    pytest.param(None, ALL_SCOPES, "scope is required", id="missing"),
    pytest.param("", ALL_SCOPES, "scope is required", id="empty"),
    pytest.param("   ", ALL_SCOPES, "scope is required", id="only-spaces"),
    pytest.param("meetings:read\tusers:read", ALL_SCOPES, "malformed", id="tab-separated"),
    pytest.param('meetings:read "x"', ALL_SCOPES, "malformed", id="quote"),
    pytest.param("meetings:read caf\u00e9", ALL_SCOPES, "malformed", id="non-ascii"),
    pytest.param("meetings:read x", ALL_SCOPES, "scope that does not exist", id="unknown"),
    pytest.param("openid", ALL_SCOPES, "scope that does not exist", id="openid-unknown"),
    pytest.param("Meetings:read", ALL_SCOPES, "scope that does not exist", id="case-matters"),
    pytest.param("meetings:read,users:read", ALL_SCOPES, "scope that does not exist", id="comma-separated"),
    pytest.param(
        "meetings:read meetings:write",
        ["meetings:read"],
        "scope meetings:write was not approved",
        id="unapproved",
    ),
    pytest.param(
        "nope meetings:write", ["meetings:read"], "scope that does not exist", id="unknown-before-unapproved"
    ),
    pytest.param("users:read", [], "scope users:read was not approved", id="nothing-approved"),
]


@pytest.mark.parametrize(("scope", "approved", "words"), SCOPE_REFUSED)
def test_scope_refused(scope: str | None, approved: list[str], words: str) -> None:
    with pytest.raises(InvalidScope) as exc:
        check(query(scope=scope), app(scopes=approved))
    assert exc.value.error == "invalid_scope"
    assert is_redirectable(exc.value)
    assert words in exc.value.description


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        pytest.param("meetings:read", ("meetings:read",), id="one"),
        pytest.param("meetings:read meetings:read", ("meetings:read",), id="duplicate"),
        pytest.param(
            "webhooks:write users:read meetings:read",
            ("meetings:read", "users:read", "webhooks:write"),
            id="catalog-order",
        ),
        pytest.param(" users:read  meetings:read ", ("meetings:read", "users:read"), id="extra-spaces"),
    ],
)
def test_scope_accepted(scope: str, expected: tuple[str, ...]) -> None:
    assert check(query(scope=scope)).scopes == expected


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        pytest.param(None, None, id="absent"),
        pytest.param("", None, id="empty-is-absent"),
        pytest.param("a b&c=d", "a b&c=d", id="opaque"),
        pytest.param("s" * 2048, "s" * 2048, id="max-length"),
    ],
)
def test_state_accepted(state: str | None, expected: str | None) -> None:
    assert check(query(state=state)).state == expected


def test_state_too_long() -> None:
    with pytest.raises(InvalidRequest, match="2048") as exc:
        check(query(state="s" * 2049))
    assert exc.value.error == "invalid_request"
    assert is_redirectable(exc.value)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        pytest.param(query(), "xyz", id="present"),
        pytest.param(query(state=None), None, id="absent"),
        pytest.param([*query(), ("state", "other")], None, id="repeated"),
        pytest.param(query(state="s" * 2049), None, id="too-long"),
        pytest.param(query(state="s" * 2048), "s" * 2048, id="max-length"),
    ],
)
def test_state_from_for_error_redirects(q: list[tuple[str, str]], expected: str | None) -> None:
    assert state_from(q) == expected


ORDER = [
    # several problems at once: the first check in RFC order wins
    pytest.param(
        {"response_type": "token", "scope": "nope", "code_challenge_method": "plain"},
        "unsupported_response_type",
        id="response-type-before-pkce-and-scope",
    ),
    pytest.param(
        {"code_challenge_method": "plain", "scope": "nope"}, "invalid_request", id="pkce-before-scope"
    ),
    pytest.param({"scope": "nope", "state": "s" * 3000}, "invalid_scope", id="scope-before-state"),
]


@pytest.mark.parametrize(("overrides", "error"), ORDER)
def test_check_order(overrides: dict[str, str], error: str) -> None:
    with pytest.raises(OAuthError) as exc:
        check(query(**overrides))
    assert exc.value.error == error


def test_repeats_are_checked_first() -> None:
    with pytest.raises(InvalidRequest, match="scope must not be repeated"):
        check([*query(response_type="token"), ("scope", "users:read")])


# --- plan ----------------------------------------------------------------------------------

PLAN_CASES = [
    # (scope, plan, refused description or None)
    pytest.param("meetings:read transcripts:read users:read", "free", None, id="free-basics"),
    pytest.param(
        "meetings:read meetings:write",
        "free",
        "meetings:write is not available to this user",
        id="free-write",
    ),
    pytest.param(
        "recordings:read",
        "free",
        "recordings:read is not available to this user",
        id="free-recordings",
    ),
    pytest.param("meetings:write recordings:read summaries:read", "pro", None, id="pro"),
    pytest.param(
        "meetings:write webhooks:write",
        "pro",
        "webhooks:write is not available to this user",
        id="pro-webhooks",
    ),
    pytest.param(" ".join(ALL_SCOPES), "business", None, id="business-everything"),
    pytest.param(
        "meetings:read",
        "enterprise",
        "meetings:read is not available to this user",
        id="unknown-plan",
    ),
]


@pytest.mark.parametrize(("scope", "plan", "refused"), PLAN_CASES)
def test_check_plan(scope: str, plan: str, refused: str | None) -> None:
    req = check(query(scope=scope))
    if refused is None:
        check_plan(req, plan, catalog=CATALOG)
        return
    with pytest.raises(InvalidScope) as exc:
        check_plan(req, plan, catalog=CATALOG)
    assert exc.value.error == "invalid_scope"
    assert exc.value.description == refused
    assert plan not in exc.value.description  # the client is never told the user's plan
    assert is_redirectable(exc.value)


# --- redirect builders ---------------------------------------------------------------------


def params_of(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


@pytest.mark.parametrize(
    ("redirect_uri", "state", "expected"),
    [
        pytest.param(CB, "xyz", CB + "?code=c0de&state=xyz", id="plain"),
        pytest.param(CB, None, CB + "?code=c0de", id="no-state"),
        pytest.param(CB, "", CB + "?code=c0de", id="empty-state"),
        pytest.param(
            CB + "?tenant=a%20b", "xyz", CB + "?tenant=a%20b&code=c0de&state=xyz", id="keeps-existing-query"
        ),
        pytest.param(CB + "?b=2&a=1", None, CB + "?b=2&a=1&code=c0de", id="keeps-query-order"),
        pytest.param(CB + "?", None, CB + "?code=c0de", id="bare-question-mark"),
        pytest.param(CB + "#frag", None, CB + "?code=c0de", id="drops-fragment"),
        pytest.param(
            CB, "a b&c=d/é", CB + "?code=c0de&state=a%20b%26c%3Dd%2F%C3%A9", id="state-percent-encoded"
        ),
        pytest.param(
            "http://127.0.0.1:5000/cb", "x", "http://127.0.0.1:5000/cb?code=c0de&state=x", id="loopback"
        ),
    ],
)
def test_code_redirect(redirect_uri: str, state: str | None, expected: str) -> None:
    assert code_redirect(redirect_uri, "c0de", state) == expected


def test_code_redirect_state_round_trips() -> None:
    state = "a b&c=d+e%20?#"
    url = code_redirect(CB + "?tenant=a%20b", "c0de", state)
    assert "#" not in url
    assert params_of(url) == [("tenant", "a b"), ("code", "c0de"), ("state", state)]


@pytest.mark.parametrize(
    ("error", "state", "expected"),
    [
        pytest.param(
            InvalidScope("unknown scope x"),
            "a b",
            [("error", "invalid_scope"), ("error_description", "unknown scope x"), ("state", "a b")],
            id="invalid-scope",
        ),
        pytest.param(
            AccessDenied("The user denied the request"),
            None,
            [("error", "access_denied"), ("error_description", "The user denied the request")],
            id="access-denied-no-state",
        ),
        pytest.param(
            UnsupportedResponseType(),
            "s&t=u",
            [("error", "unsupported_response_type"), ("state", "s&t=u")],
            id="no-description",
        ),
        pytest.param(
            ServerError("request id r1"),
            "x",
            [("error", "server_error"), ("error_description", "request id r1"), ("state", "x")],
            id="server-error",
        ),
    ],
)
def test_error_redirect(error: OAuthError, state: str | None, expected: list[tuple[str, str]]) -> None:
    url = error_redirect(CB + "?tenant=a%20b", error, state)
    assert url.startswith(CB + "?tenant=a%20b&error=")
    assert params_of(url) == [("tenant", "a b"), *expected]


def test_error_redirect_encodes_description() -> None:
    url = error_redirect(CB, InvalidRequest("state must be at most 2048 characters"), None)
    assert (
        url
        == CB + "?error=invalid_request&error_description=state%20must%20be%20at%20most%202048%20characters"
    )


@pytest.mark.parametrize(
    "error",
    [UnknownClient(), BadRedirectUri("redirect_uri must not be repeated")],
    ids=["unknown-client", "bad-redirect-uri"],
)
def test_error_redirect_refuses_never_redirect_errors(error: OAuthError) -> None:
    with pytest.raises(ValueError, match="must not be sent"):
        error_redirect(CB, error, "xyz")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("invalid_request", InvalidRequest),
        ("invalid_scope", InvalidScope),
        ("invalid_client", errors.InvalidClient),
    ],
)
def test_never_redirect_errors_do_not_shadow_the_rfc_classes(
    monkeypatch: pytest.MonkeyPatch, code: str, expected: type[OAuthError]
) -> None:
    """shared.errors.error_class maps a code to one class; ours are subclasses and must not win."""
    monkeypatch.setattr(errors, "_BY_CODE", {})
    assert errors.error_class(code) is expected


def test_an_app_that_requires_pkce_refuses_a_request_without_a_challenge() -> None:
    strict = app(require_pkce=True)
    with pytest.raises(InvalidRequest, match="requires PKCE"):
        check_request(strict, CB, query(code_challenge=None, code_challenge_method=None), catalog=CATALOG)
    with pytest.raises(InvalidRequest, match="requires PKCE"):
        check_request(strict, CB, query(code_challenge="", code_challenge_method=""), catalog=CATALOG)
    checked = check_request(
        strict, CB, query(code_challenge=CHALLENGE, code_challenge_method="S256"), catalog=CATALOG
    )
    assert checked.code_challenge == CHALLENGE
    assert check_request(app(), CB, query(code_challenge=None, code_challenge_method=None), catalog=CATALOG)


def test_a_public_app_always_needs_an_s256_challenge() -> None:
    """RFC 9700 §2.1.1: PKCE is required of a public client, whatever its require_pkce setting."""
    public = app(client_type="public")
    for missing in (None, ""):
        with pytest.raises(InvalidRequest, match="public client must use PKCE"):
            check_request(
                public, CB, query(code_challenge=missing, code_challenge_method=missing), catalog=CATALOG
            )
    with pytest.raises(InvalidRequest):
        check_request(
            public, CB, query(code_challenge=CHALLENGE, code_challenge_method="plain"), catalog=CATALOG
        )
    checked = check_request(
        public, CB, query(code_challenge=CHALLENGE, code_challenge_method="S256"), catalog=CATALOG
    )
    assert checked.code_challenge == CHALLENGE and checked.code_challenge_method == "S256"
