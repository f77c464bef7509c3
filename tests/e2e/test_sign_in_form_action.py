"""The sign-in page's CSP ``form-action`` (``services.gateway.form_action``): when signing in continues
to an authorization request, the page allows, besides ``'self'``, exactly the origin of the registered
redirect URI that request names (Chromium applies ``form-action`` to the 303 to ``/oauth/authorize``
and to its 302 to the client); in every other case ``'self'`` only."""

from __future__ import annotations

from urllib.parse import quote, urlencode

import aiohttp

from tests.support.factories import create_account, create_app, login_csrf, new_http
from tests.support.system import System

REGISTERED = "https://notes.example/cb?tenant=acme"
LOOPBACK = "http://127.0.0.1/callback"


def authorize_path(client_id: str, **params: str) -> str:
    query = {
        "response_type": "code",
        "client_id": client_id,
        "scope": "meetings:read",
        "state": "s",
        **params,
    }
    return "/oauth/authorize?" + urlencode(query)


def form_action(resp: aiohttp.ClientResponse) -> str:
    [directive] = [
        d.strip() for d in resp.headers["Content-Security-Policy"].split(";") if "form-action" in d
    ]
    return directive


async def sign_in_page(system: System, next_path: str) -> str:
    async with new_http() as http, http.get(system.url("/login?next=" + quote(next_path, safe=""))) as resp:
        assert resp.status == 200
        return form_action(resp)


async def test_the_sign_in_page_of_an_authorization_request_allows_its_registered_redirect(
    system: System,
) -> None:
    owner = await create_account(system)
    app, _ = await create_app(system, owner, redirect_uris=[REGISTERED, LOOPBACK])
    named = authorize_path(app.client_id, redirect_uri=REGISTERED)
    assert await sign_in_page(system, named) == "form-action 'self' https://notes.example"
    # RFC 8252 §7.3: a loopback URI with any port is registered; its own port is the destination.
    any_port = authorize_path(app.client_id, redirect_uri="http://127.0.0.1:53123/callback")
    assert await sign_in_page(system, any_port) == "form-action 'self' http://127.0.0.1:53123"


async def test_an_omitted_redirect_uri_allows_the_apps_only_registered_one(system: System) -> None:
    owner = await create_account(system)
    app, _ = await create_app(system, owner, redirect_uris=[REGISTERED])
    assert (
        await sign_in_page(system, authorize_path(app.client_id))
        == "form-action 'self' https://notes.example"
    )


async def test_nothing_unregistered_is_allowed(system: System) -> None:
    owner = await create_account(system)
    app, _ = await create_app(system, owner, redirect_uris=[REGISTERED, LOOPBACK])
    for next_path in (
        authorize_path(app.client_id, redirect_uri="https://evil.example/cb"),  # not registered
        authorize_path(app.client_id, redirect_uri="https://notes.example/other"),  # same origin, other URI
        authorize_path(app.client_id),  # several registered: the request names none
        authorize_path("mavio_client_0000000000000000", redirect_uri=REGISTERED),  # unknown client
        authorize_path(app.client_id, redirect_uri=REGISTERED, response_type="token"),  # refused request
        "/settings/developer/oauth-apps",  # not an authorization request
        "/oauth/authorizex?" + authorize_path(app.client_id, redirect_uri=REGISTERED).split("?", 1)[1],
    ):
        assert await sign_in_page(system, next_path) == "form-action 'self'", next_path
    async with new_http() as http, http.get(system.url("/login")) as resp:
        assert form_action(resp) == "form-action 'self'"


async def test_the_page_shown_again_after_a_wrong_password_keeps_the_destination(system: System) -> None:
    owner = await create_account(system)
    user = await create_account(system)
    app, _ = await create_app(system, owner, redirect_uris=[REGISTERED])
    next_path = authorize_path(app.client_id, redirect_uri=REGISTERED)
    async with new_http() as http:
        data = {
            "csrf_token": await login_csrf(system, http),
            "email": user.email,
            "password": "wrong",
            "next": next_path,
        }
        async with http.post(system.url("/login"), data=data, allow_redirects=False) as resp:
            assert resp.status == 401
            assert form_action(resp) == "form-action 'self' https://notes.example"
