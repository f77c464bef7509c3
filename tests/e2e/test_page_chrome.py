"""What every page carries, through the gateway: a favicon that answers (never a 404) and is linked
from every page; the consent page without the developer navigation (a user in the middle of someone
else's flow keeps only Sign out); the error summary saying each message once."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from tests.e2e.test_developer_apps import APPS, GOOD, app_form, page, submit
from tests.e2e.test_pages import NAV
from tests.support.factories import csrf_of, new_http, signed_in_client
from tests.support.system import System
from tests.support.token_flow import new_party

ICON_LINK = '<link rel="icon" href="/favicon.ico" sizes="32x32">'


async def test_the_favicon_answers_and_every_page_links_it(system: System) -> None:
    async with new_http() as anon:
        async with anon.get(system.url("/favicon.ico")) as resp:
            body = await resp.read()
            assert resp.status == 200 and resp.content_type == "image/x-icon"
            assert body[:4] == b"\x00\x00\x01\x00"  # an ICO file's header
        for path in ("/", "/login", "/no-such-page"):
            async with anon.get(system.url(path)) as resp:
                assert ICON_LINK in await resp.text(), path


async def test_the_consent_page_has_no_developer_navigation(system: System) -> None:
    party = await new_party(system, name="Focused Notes")
    query = {"response_type": "code", "client_id": party.client_id, "redirect_uri": party.redirect_uri,
             "scope": "meetings:read", "state": "s"}  # fmt: skip
    http, _ = await signed_in_client(system)
    async with http:
        status, html = await page(http, system, "/oauth/authorize?" + urlencode(query))
        assert status == 200 and "Authorize Focused Notes" in html
        header = html.split('<header class="topbar">', 1)[1].split("</header>", 1)[0]
        assert 'aria-label="Main"' not in html and not any(link in header for link in NAV)
        assert ">Sign out</button>" in header and ICON_LINK in html
        _, settings = await page(http, system, "/settings")  # every other signed-in page keeps it
        assert 'aria-label="Main"' in settings and all(link in settings for link in NAV)


async def test_the_error_summary_says_each_message_once(system: System) -> None:
    http, _ = await signed_in_client(system)
    async with http:
        _, form = await page(http, system, APPS + "/new")
        bad = {**GOOD, "name": "", "homepage_url": "", "scopes": []}
        status, body, _ = await submit(http, system, APPS, app_form(csrf_of(form), bad))
    assert status == 400
    summary = re.search(r'<div class="error-summary"[^>]*>(.*?)</div>', body, re.S)
    assert summary
    items = re.findall(r'<a href="#([\w-]+)">([^<]+)</a>', summary.group(1))
    assert items == [
        ("name", "Name is required"),
        ("homepage_url", "Homepage URL is required"),
        ("scopes", "Choose at least one scope"),
    ]
