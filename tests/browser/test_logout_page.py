"""The RP-initiated logout page (OpenID Connect RP-Initiated Logout 1.0) in a real Chromium: "Sign out
of Mavio?" passes axe-core and fits a phone (screenshots at 1280 and 360 px, ``audit``); **Sign out**
ends the session and lands on the app's registered post-logout URI with ``state`` through the page's CSP
(``form-action``, which Chromium applies to the 303 too), with no CSP violation in the console;
**Cancel** keeps the user signed in."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from tests.browser.audit import Audit
from tests.browser.client_site import ClientSite, client_site
from tests.browser.console_watch import ConsoleWatch
from tests.support.factories import DEFAULT_PASSWORD, create_account, create_app
from tests.support.system import System

pytestmark = pytest.mark.browser


async def sign_in(system: System, page: Any, email: str) -> None:
    await page.goto(system.url("/login"))
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(system.url("/"))


async def test_the_logout_page_signs_out_and_returns_to_the_app(system: System, chromium: Any) -> None:
    async with client_site() as site:  # the app's post-logout page
        await walk(system, chromium, site)


async def walk(system: System, chromium: Any, site: ClientSite) -> None:
    bye, received = site.url, site.received
    owner = await create_account(system, name="Olga Owner")
    app, _ = await create_app(system, owner, name="Sign-in Notes", post_logout_redirect_uris=[bye])
    user = await create_account(system)
    url = system.url(
        "/oauth/logout?"
        + urlencode({"client_id": app.client_id, "post_logout_redirect_uri": bye, "state": "bye 1"})
    )

    # axe-core is injected as a script: a context of its own that bypasses the CSP
    audit = Audit()
    context = await chromium.new_context(bypass_csp=True)
    page = await context.new_page()
    try:
        await sign_in(system, page, user.email)
        await page.goto(url)
        await page.get_by_role("heading", name="Sign out of Mavio?").wait_for()
        await audit.page(page, "logout")
    finally:
        await context.close()
        audit.report()
    assert audit.failures() == []

    watch = ConsoleWatch()
    context = await watch.new_context(chromium)
    page = await context.new_page()
    try:
        await sign_in(system, page, user.email)
        await page.goto(url)
        assert "Sign-in Notes" in await page.inner_text("#logout-app")
        await page.get_by_role("button", name="Cancel").click()
        await watch.wait_for_url(page, system.url("/"))
        assert await page.get_by_role("button", name="Sign out").count() == 1  # still signed in
        await page.goto(url)
        await page.locator("form[action='/oauth/logout']").get_by_role("button", name="Sign out").click()
        await watch.wait_for_url(page, re.compile(re.escape(bye) + r"\?"))
        assert dict(parse_qsl(urlsplit(page.url).query)) == {"state": "bye 1"} == received[-1]
        await page.goto(system.url("/settings"))
        assert urlsplit(page.url).path == "/login"  # the session ended
    finally:
        await context.close()
    watch.assert_clean()
