"""The pages around the flows, through the gateway: Settings and Developer with their breadcrumb, the
one-time credentials view (POST -> 303 -> view; a reload shows nothing), every bad redirect URI in
one answer with an error summary linking to each field, the sign-in page naming the asking app,
Revoke's confirmation on Connected apps, and a 404 that keeps a signed-in user's navigation."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import aiohttp
import pytest

from shared import keys
from tests.e2e.test_developer_apps import APPS, GOOD, app_form, page, submit
from tests.support.factories import code_by_id, csrf_of, new_http, signed_in_client
from tests.support.system import System
from tests.support.token_flow import consent_code, exchange, new_party

NAV = ('href="/settings"', 'href="/settings/developer/oauth-apps"', 'href="/settings/connected-apps"')


@pytest.fixture
async def http(system: System) -> AsyncIterator[aiohttp.ClientSession]:
    client, _ = await signed_in_client(system)
    yield client
    await client.close()


def crumbs(html: str) -> list[tuple[str, str]]:
    found = re.search(r'<nav class="breadcrumb" aria-label="Breadcrumb">(.*?)</nav>', html, re.S)
    assert found, "no breadcrumb"
    links = re.findall(
        r'<a href="([^"]+)">([^<]+)</a>|<span aria-current="page">([^<]+)</span>', found.group(1)
    )
    return [(label or current, href) for href, label, current in links]


@pytest.mark.parametrize(
    ("path", "trail"),
    [
        ("/settings", [("Settings", "")]),
        ("/settings/developer", [("Settings", "/settings"), ("Developer", "")]),
        (APPS, [("Settings", "/settings"), ("Developer", "/settings/developer"), ("OAuth Apps", "")]),
        ("/settings/connected-apps", [("Settings", "/settings"), ("Connected apps", "")]),
    ],
)
async def test_settings_pages_exist_with_a_working_breadcrumb(
    system: System, http: aiohttp.ClientSession, path: str, trail: list[tuple[str, str]]
) -> None:
    status, html = await page(http, system, path)
    assert status == 200
    assert crumbs(html) == trail
    for _, href in trail[:-1]:
        status, _ = await page(http, system, href)
        assert status == 200, href


async def test_settings_lead_to_developer_and_oauth_apps(system: System, http: aiohttp.ClientSession) -> None:
    _, html = await page(http, system, "/settings")
    assert 'href="/settings/developer"' in html and 'href="/settings/connected-apps"' in html
    _, html = await page(http, system, "/settings/developer")
    assert f'href="{APPS}"' in html


async def test_the_secret_is_shown_once_after_a_redirect(system: System, http: aiohttp.ClientSession) -> None:
    _, html = await page(http, system, APPS + "/new")
    status, body, resp = await submit(http, system, APPS, app_form(csrf_of(html), GOOD))
    assert status == 303 and "mavio_cs_" not in body
    location = resp.headers["Location"]
    assert re.fullmatch(rf"{APPS}/mavio_client_\w+/credentials", location)
    cookie = resp.cookies["mavio_credentials"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == location
    async with http.get(system.url(location), allow_redirects=False) as got:
        status, view, csp = got.status, await got.text(), got.headers["Content-Security-Policy"]
    assert status == 200
    # the one page with a script: same-origin copy.js only, never inline
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
    assert '<script src="/static/copy.js" defer></script>' in view
    secret = code_by_id(view)["client-secret"]
    assert secret.startswith("mavio_cs_") and 'data-copy="client-secret"' in view
    # nothing in Redis holds the secret in the clear, and the view's record is gone after the view
    async for key in system.redis.scan_iter(match=keys.credentials_view("*")):
        raise AssertionError(f"the one-time record is still there: {key!r}")
    status, again = await page(http, system, location)
    assert status == 410 and secret not in again and "already shown" in again


async def test_a_stolen_pad_without_the_session_shows_nothing(
    system: System, http: aiohttp.ClientSession
) -> None:
    _, html = await page(http, system, APPS + "/new")
    _, _, resp = await submit(http, system, APPS, app_form(csrf_of(html), GOOD))
    location, pad = resp.headers["Location"], resp.cookies["mavio_credentials"].value
    other, _ = await signed_in_client(system)
    async with other:
        other.cookie_jar.update_cookies({"mavio_credentials": pad})
        async with other.get(system.url(location), allow_redirects=False) as got:
            assert got.status == 404  # not this user's app
    raw = [await system.redis.get(k) async for k in system.redis.scan_iter(match=keys.credentials_view("*"))]
    assert len(raw) == 1 and b"mavio_cs_" not in raw[0]


async def test_every_bad_redirect_uri_is_reported_with_a_summary(
    system: System, http: aiohttp.ClientSession
) -> None:
    bad = {**GOOD, "name": "", "redirect_uris": "https://ok.example/cb\nhttp://x/#frag\nhttps://*.example/cb"}
    _, html = await page(http, system, APPS + "/new")
    status, body, _ = await submit(http, system, APPS, app_form(csrf_of(html), bad))
    assert status == 400
    summary = re.search(r'<div class="error-summary" id="error-summary"[^>]*>(.*?)</div>', body, re.S)
    assert summary and 'tabindex="-1"' in body and "autofocus" in summary.group(0)
    links = re.findall(r'<a href="#([\w-]+)">', summary.group(1))
    assert links == ["name", "redirect_uris"]
    assert "Redirect URI 2 (http://x/#frag)" in body and "Redirect URI 3 (https://*.example/cb)" in body
    assert re.search(r'id="redirect_uris"[^>]*aria-invalid="true"', body)
    assert re.search(r'id="name"[^>]*aria-required="true"[^>]*aria-invalid="true"', body)


async def test_the_sign_in_page_names_the_app_asking(system: System) -> None:
    party = await new_party(system, name="Calendar Bridge")
    query = {"response_type": "code", "client_id": party.client_id, "redirect_uri": party.redirect_uri,
             "scope": "meetings:read", "state": "s"}  # fmt: skip
    async with new_http() as anon:
        async with anon.get(
            system.url("/oauth/authorize?" + urlencode(query)), allow_redirects=False
        ) as resp:
            assert resp.status == 302
            login = resp.headers["Location"]
        async with anon.get(system.url(login)) as resp:
            html = await resp.text()
        assert re.search(r'id="asking-app"><strong>Calendar Bridge</strong> is asking', html)
        async with anon.get(system.url("/login?next=/settings")) as resp:
            assert "asking-app" not in await resp.text()


async def test_revoke_on_connected_apps_asks_first(system: System) -> None:
    party = await new_party(system, name="Notetaker")
    status, _, _ = await exchange(system, party, await consent_code(system, party))
    assert status == 200
    async with new_http() as http:
        from tests.support.factories import sign_in

        await sign_in(system, http, party.user.email)
        _, listing = await page(http, system, "/settings/connected-apps")
        confirm = f"/settings/connected-apps/{party.client_id}/revoke"
        assert f'href="{confirm}"' in listing and 'method="post"' not in listing.split("<main", 1)[1]
        status, html = await page(http, system, confirm)
        assert status == 200 and "Revoke Notetaker?" in html and ">Revoke access</button>" in html
        status, _ = await page(http, system, "/settings/connected-apps/mavio_client_0000000000000000/revoke")
        assert status == 404
        async with http.post(
            system.url(confirm), data={"csrf_token": csrf_of(html)}, allow_redirects=False
        ) as r:
            assert r.status == 303
        _, listing = await page(http, system, "/settings/connected-apps")
        assert "no-connected-apps" in listing


async def test_404_keeps_the_navigation_for_a_signed_in_user(
    system: System, http: aiohttp.ClientSession
) -> None:
    status, html = await page(http, system, "/settings/nothing-here")
    assert status == 404 and "Not found" in html
    for link in NAV:
        assert link in html, link
    async with new_http() as anon, anon.get(system.url("/nothing-here")) as resp:
        assert resp.status == 404 and "Sign out" not in await resp.text()
