"""OpenID Connect parameters and sign-in decisions of the authorization endpoint, table-driven
(``services.authorize.oidc``, ``services.authorize.sign_in``; OpenID Connect Core 1.0 §3.1.2.1)."""

from __future__ import annotations

import pytest

from services.authorize.checks import AuthorizationRequest
from services.authorize.oidc import OidcRequest, check_oidc
from services.authorize.sign_in import signed_in, signed_out
from services.gateway.reauthentication import continue_after_sign_in
from shared.errors import (
    InvalidRequest,
    LoginRequired,
    OAuthError,
    RequestNotSupported,
    RequestUriNotSupported,
)
from shared.messages.authorize import RedirectTo, ShowSignIn, SignIn

CB = "https://client.example/cb"


class App:
    client_id = "c1"
    redirect_uris = (CB, "http://127.0.0.1/loop")
    scopes = ("openid",)


def request(given: bool = True, uri: str = CB, **oidc: object) -> AuthorizationRequest:
    return AuthorizationRequest(
        client_id="c1",
        redirect_uri=uri,
        scopes=("openid",),
        state="s",
        code_challenge=None,
        code_challenge_method=None,
        redirect_uri_given=given,
        oidc=OidcRequest(**oidc),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ([("request", "eyJ.e30.")], RequestNotSupported),
        ([("request_uri", "https://c.example/r")], RequestUriNotSupported),
        ([("prompt", "none login")], InvalidRequest),
        ([("prompt", "sometimes")], InvalidRequest),
        ([("max_age", "-1")], InvalidRequest),
        ([("max_age", "\u0661")], InvalidRequest),  # an Arabic-Indic digit is no ASCII integer
        ([("nonce", "a"), ("nonce", "b")], InvalidRequest),
        ([("nonce", "n" * 513)], InvalidRequest),
        ([("claims", "{")], InvalidRequest),
        ([("claims", '"x"')], InvalidRequest),
        ([("claims", '{"userinfo": {"email": true}}')], InvalidRequest),
    ],
)
def test_refused(query: list[tuple[str, str]], error: type[OAuthError]) -> None:
    with pytest.raises(error) as exc:
        check_oidc(query)
    assert type(exc.value) is error


def test_accepted_and_ignored() -> None:
    query = [
        ("prompt", "login  consent"),
        ("max_age", "0"),
        ("nonce", " exactly as sent "),
        ("claims", '{"id_token": {"email_verified": {"essential": true}, "picture": null}, "other": 1}'),
        ("login_hint", "ada@example.com"),
        ("display", "page"),
        ("ui_locales", "de"),
        ("acr_values", "x"),
        ("unknown", "y"),
    ]
    assert check_oidc(query) == OidcRequest(
        prompt=frozenset({"login", "consent"}),
        max_age=0,
        nonce=" exactly as sent ",
        claims='{"id_token":{"email_verified":{"essential":true}}}',
        login_hint="ada@example.com",
    )


def test_signed_out_prompt_none_redirects_only_to_an_exact_registered_uri() -> None:
    answer = signed_out(App(), request(prompt=frozenset({"none"})))
    assert (
        isinstance(answer, RedirectTo)
        and answer.location
        == CB + "?error=login_required&error_description=the%20user%20is%20not%20signed%20in&state=s"
    )
    for req in (
        request(given=False, prompt=frozenset({"none"})),
        request(uri="http://127.0.0.1:99/loop", prompt=frozenset({"none"})),
    ):
        with pytest.raises(LoginRequired):
            signed_out(App(), req)
    assert signed_out(App(), request(login_hint="a@b.c")) == ShowSignIn(redirect_uri=CB, login_hint="a@b.c")


@pytest.mark.parametrize(
    ("oidc", "hinted", "auth_time", "expected"),
    [
        ({}, None, 0, None),
        ({"max_age": 10}, None, 990, None),  # exactly max_age ago is recent enough
        ({"max_age": 10}, None, 989, "again"),
        ({"max_age": 1, "prompt": frozenset({"none"})}, None, 998, "login_required"),
        ({"prompt": frozenset({"login"})}, None, 1000, "again"),
        ({"prompt": frozenset({"select_account"})}, None, 1000, "again"),
        ({"prompt": frozenset({"consent"})}, None, 0, None),
        ({}, "u1", 0, None),
        ({}, "u2", 0, "again"),
        ({}, "", 0, "again"),  # a hint that did not verify names nobody signed in here
        ({"prompt": frozenset({"none"})}, "u2", 1000, "login_required"),
    ],
)
def test_signed_in(oidc: dict[str, object], hinted: str | None, auth_time: int, expected: str | None) -> None:
    answer = signed_in(
        request(**oidc),
        user_id="u1",
        session=SignIn(auth_time=auth_time, sid="x"),
        hinted_user=hinted,
        now=1000,
    )
    if expected is None:
        assert answer is None
    elif expected == "again":
        assert answer == ShowSignIn(redirect_uri=CB, reauthenticate=True)
    else:
        assert isinstance(answer, RedirectTo) and "error=login_required" in answer.location


@pytest.mark.parametrize(
    ("back_to", "expected"),
    [
        ("/oauth/authorize?client_id=c&prompt=login", "/oauth/authorize?client_id=c"),
        ("/oauth/authorize?prompt=login%20consent&max_age=0&x=1", "/oauth/authorize?prompt=consent&x=1"),
        ("/oauth/authorize?prompt=select_account&state=a%2Bb", "/oauth/authorize?state=a%2Bb"),
        ("/oauth/authorize?client_id=c&state=s", "/oauth/authorize?client_id=c&state=s"),
        ("/oauth/authorize?id_token_hint=e.y.j&client_id=c", "/oauth/authorize?client_id=c"),
    ],
)
def test_the_sign_in_continues_without_what_asked_for_it(back_to: str, expected: str) -> None:
    assert continue_after_sign_in(back_to) == expected
