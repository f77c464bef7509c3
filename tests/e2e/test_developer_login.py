"""Sign-in and sign-out through the gateway: labelled form, one generic error, no timing oracle,
safe ``next`` only, CSRF on the sign-in form and on sign-out, and the session cookie's flags."""

from __future__ import annotations

import aiohttp
import pytest

from services.gateway.sessions import COOKIE
from services.gateway.web_helpers import LOGIN_CSRF_COOKIE
from tests.support.factories import (
    DEFAULT_PASSWORD,
    create_account,
    csrf_of,
    login_csrf,
    new_http,
    sign_in,
    unique_email,
)
from tests.support.system import System


async def post_login(
    system: System, http: aiohttp.ClientSession, data: dict[str, str], query: str = ""
) -> tuple[int, str, aiohttp.ClientResponse]:
    async with http.post(system.url("/login" + query), data=data, allow_redirects=False) as resp:
        return resp.status, await resp.text(), resp


async def test_login_form_is_labelled_and_sets_a_pre_session_csrf_cookie(system: System) -> None:
    async with new_http() as http, http.get(system.url("/login")) as resp:
        html = await resp.text()
        cookie = resp.cookies[LOGIN_CSRF_COOKIE]
    assert resp.status == 200
    assert '<label for="email">Email</label>' in html and '<label for="password">Password</label>' in html
    assert '<button type="submit">Sign in</button>' in html
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert resp.headers["Cache-Control"] == "no-store"


async def test_sign_in_sets_an_httponly_lax_session_cookie_and_shows_sign_out(system: System) -> None:
    email = unique_email()
    await create_account(system, email=email, name="Lin")
    async with new_http() as http:
        token = await login_csrf(system, http)
        status, _, resp = await post_login(
            system, http, {"csrf_token": token, "email": email.upper(), "password": DEFAULT_PASSWORD}
        )
        assert status == 303 and resp.headers["Location"] == "/"
        session = resp.cookies[COOKIE]
        assert session["httponly"] and session["samesite"] == "Lax" and not session["secure"]
        assert int(session["max-age"]) == system.settings.session_ttl
        for path in ("/", "/settings/developer/oauth-apps"):
            async with http.get(system.url(path)) as page:
                html = await page.text()
            assert "Lin" in html and ">Sign out</button>" in html


async def test_wrong_password_and_unknown_email_get_one_generic_message(system: System) -> None:
    email = unique_email()
    await create_account(system, email=email)
    bodies = []
    async with new_http() as http:
        for who, password in [(email, "not the password"), (unique_email(), DEFAULT_PASSWORD), (email, "")]:
            token = await login_csrf(system, http)
            status, html, resp = await post_login(
                system, http, {"csrf_token": token, "email": who, "password": password}
            )
            assert status == 401 and COOKIE not in resp.cookies
            bodies.append(html.split('id="login-error">')[1].split("<")[0])
        assert len(set(bodies)) == 1 and bodies[0] == "Incorrect email or password."
        async with http.get(system.url("/settings/developer/oauth-apps"), allow_redirects=False) as resp:
            assert resp.status in (302, 303)  # still signed out


@pytest.mark.parametrize(
    ("next_value", "expected"),
    [
        ("/settings/developer/oauth-apps", "/settings/developer/oauth-apps"),
        ("/oauth/authorize?client_id=x&scope=a%20b", "/oauth/authorize?client_id=x&scope=a%20b"),
        ("//evil.example/steal", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("evil.example", "/"),
        ("/%0d%0aSet-Cookie:x=y", "/%0d%0aSet-Cookie:x=y"),
        ("/ok\r\nLocation: https://evil.example", "/"),
    ],
)
async def test_next_is_only_followed_to_a_path_on_this_site(
    system: System, next_value: str, expected: str
) -> None:
    email = unique_email()
    await create_account(system, email=email)
    async with new_http() as http:
        token = await login_csrf(system, http)
        data = {"csrf_token": token, "email": email, "password": DEFAULT_PASSWORD, "next": next_value}
        status, _, resp = await post_login(system, http, data)
        assert status == 303 and resp.headers["Location"] == expected


async def test_next_from_the_query_string_survives_the_form(system: System) -> None:
    email = unique_email()
    await create_account(system, email=email)
    async with new_http() as http:
        async with http.get(system.url("/login?next=%2Fsettings%2Fdeveloper%2Foauth-apps")) as resp:
            html = await resp.text()
        assert 'name="next" value="/settings/developer/oauth-apps"' in html
        token = html.split('name="csrf_token" value="')[1].split('"')[0]
        data = {
            "csrf_token": token,
            "email": email,
            "password": DEFAULT_PASSWORD,
            "next": "/settings/developer/oauth-apps",
        }
        status, _, resp = await post_login(system, http, data)
        assert status == 303 and resp.headers["Location"] == "/settings/developer/oauth-apps"


@pytest.mark.parametrize("case", ["missing", "forged", "other-browser", "no-cookie"])
async def test_sign_in_without_a_valid_csrf_token_is_refused(system: System, case: str) -> None:
    email = unique_email()
    await create_account(system, email=email)
    async with new_http() as http, new_http() as other:
        token = await login_csrf(system, http)
        data = {"email": email, "password": DEFAULT_PASSWORD}
        if case == "forged":
            data["csrf_token"] = "0" * 64
        elif case == "other-browser":
            data["csrf_token"] = await login_csrf(system, other)
        elif case == "no-cookie":
            data["csrf_token"] = token
            http.cookie_jar.clear()
        status, _, resp = await post_login(system, http, data)
        assert status == 403 and COOKIE not in resp.cookies
        async with http.get(system.url("/settings/developer/oauth-apps"), allow_redirects=False) as page:
            assert page.status in (302, 303)


async def test_sign_out_needs_the_csrf_token_and_ends_the_session(system: System) -> None:
    email = unique_email()
    await create_account(system, email=email)
    async with new_http() as http:
        await sign_in(system, http, email)
        sessions_before = [k async for k in system.redis.scan_iter(match="mavio:session:*")]
        async with http.post(system.url("/logout"), data={}, allow_redirects=False) as resp:
            assert resp.status == 403
        async with http.post(
            system.url("/logout"), data={"csrf_token": "forged"}, allow_redirects=False
        ) as resp:
            assert resp.status == 403
        async with http.get(system.url("/settings/developer/oauth-apps"), allow_redirects=False) as resp:
            assert resp.status == 200
            token = csrf_of(await resp.text())
        async with http.post(
            system.url("/logout"), data={"csrf_token": token}, allow_redirects=False
        ) as resp:
            assert resp.status == 303 and resp.headers["Location"] == "/login"
        sessions_after = [k async for k in system.redis.scan_iter(match="mavio:session:*")]
        assert len(sessions_after) == len(sessions_before) - 1
        async with http.get(system.url("/settings/developer/oauth-apps"), allow_redirects=False) as resp:
            assert resp.status in (302, 303)


async def test_sign_in_replaces_an_existing_session(system: System) -> None:
    first, second = unique_email(), unique_email()
    await create_account(system, email=first, name="First")
    await create_account(system, email=second, name="Second")
    async with new_http() as http:
        token = await login_csrf(system, http)
        data = {"csrf_token": token, "email": first, "password": DEFAULT_PASSWORD}
        _, _, resp = await post_login(system, http, data)
        old = resp.cookies[COOKIE].value
        async with new_http() as copy:
            copy.cookie_jar.update_cookies({COOKIE: old})
            async with copy.get(system.url("/settings/developer/oauth-apps"), allow_redirects=False) as page:
                assert page.status == 200  # the copied cookie works while the session lives
        data = {"csrf_token": token, "email": second, "password": DEFAULT_PASSWORD}
        status, _, resp = await post_login(system, http, data)
        assert status == 303 and resp.cookies[COOKIE].value != old
        async with http.get(system.url("/")) as page:
            assert "Second" in await page.text()
    async with new_http() as stale:
        stale.cookie_jar.update_cookies({COOKIE: old})
        async with stale.get(system.url("/settings/developer/oauth-apps"), allow_redirects=False) as page:
            assert page.status in (302, 303)  # the replaced session is gone


async def test_a_failed_sign_in_keeps_next_for_the_retry(system: System) -> None:
    async with new_http() as http:
        token = await login_csrf(system, http)
        data = {
            "csrf_token": token,
            "email": unique_email(),
            "password": "nope",
            "next": "/settings/developer/oauth-apps",
        }
        status, html, _ = await post_login(system, http, data)
        assert status == 401 and 'name="next" value="/settings/developer/oauth-apps"' in html
        data["next"] = "//evil.example"
        _, html, _ = await post_login(system, http, data)
        assert 'name="next"' not in html


async def test_sign_in_page_cannot_be_framed(system: System) -> None:
    async with new_http() as http, http.get(system.url("/login")) as resp:
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
