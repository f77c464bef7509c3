"""The demo's Connect / Disconnect / Reconnect, as a person walks it in a fresh Chromium context, with
Your App and the Meetings API of ``make demo`` (``examples/``) in front of a whole Mavio system.

Connect (signed out: sign in, consent, Authorize) -> meetings with dates for people -> Disconnect
(Your App revokes its refresh token, RFC 7009) -> Your App is gone from the user's Connected apps and
its tokens are dead -> Reconnect asks for consent again -> meetings, and Connected apps lists it again
-> the user revokes Your App on Connected apps -> Mavio's signed ``authorization.revoked`` reaches Your
App, which verifies it (``standardwebhooks``) and deletes what it stored for the user, and says so.
Any Content Security Policy violation in the console, an uncaught page error, or a request the browser
made that failed (Chromium's console logs each 4xx or 5xx, a missing favicon's too) fails the test."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.browser.console_watch import ConsoleWatch
from tests.browser.example_servers import ExampleServers, example_servers
from tests.support.factories import DEFAULT_PASSWORD
from tests.support.polling import until
from tests.support.system import System
from tests.support.token_flow import bus_verify

pytestmark = pytest.mark.browser

CONNECTED_APPS = "/settings/connected-apps"
FAILED_LOAD = "Failed to load resource"  # Chromium's console line for a request answered 4xx or 5xx


def failed_loads(msg: Any, failed: list[str]) -> None:
    if FAILED_LOAD in msg.text:
        failed.append(f"{msg.text}: {msg.location['url']}")


@contextlib.asynccontextmanager
async def walking(chromium: Any) -> AsyncIterator[Any]:
    """A page in a fresh, watched context: a CSP violation, a page error or a failed load fails it."""
    console = ConsoleWatch()
    context = await console.new_context(chromium)
    page = await context.new_page()
    page.set_default_timeout(15_000)
    failed: list[str] = []
    page.on("console", lambda msg: failed_loads(msg, failed))
    try:
        yield page
    finally:
        await context.close()
    console.assert_clean()
    assert failed == [], failed


async def start_signed_out(page: Any, ex: ExampleServers, button: str) -> None:
    """On Your App's home page press ``button``, then sign in on Mavio's sign-in page."""
    await page.goto(ex.url)
    await page.get_by_role("button", name=button).click()
    await page.get_by_label("Email").fill(ex.user.email)
    await page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()


async def authorize_on_consent_page(page: Any, ex: ExampleServers) -> None:
    await page.get_by_role("heading", name="Authorize Your App").wait_for()
    await page.get_by_role("button", name="Authorize").click()
    await page.wait_for_url(ex.url + "/meetings")
    await page.get_by_text("Weekly planning").wait_for()


async def connected_apps_lists_your_app(system: System, page: Any) -> bool:
    await page.goto(system.url(CONNECTED_APPS))
    await page.get_by_role("heading", name="Connected apps", exact=False).first.wait_for()
    return int(await page.get_by_role("region", name="Your App").count()) > 0


async def _handled(ex: ExampleServers) -> bool:
    return bool(ex.webhooks.handled)


async def test_connect_disconnect_reconnect(system: System, chromium: Any) -> None:
    async with example_servers(system, developer="Demo Developer") as ex, walking(chromium) as page:
        # Connect, signed out: sign in on Mavio, then the consent page
        await start_signed_out(page, ex, "Connect Mavio")
        await authorize_on_consent_page(page, ex)
        meetings = await page.locator("#meetings").inner_text()
        assert "Tue 1 Dec 2026, 09:00 UTC" in meetings and "2026-12-01T" not in meetings
        visitor = ex.visitor()
        assert visitor.token is not None
        access = visitor.token["access_token"]
        assert await connected_apps_lists_your_app(system, page)

        # Disconnect: Your App revokes the grant at Mavio, then forgets the tokens
        await page.goto(ex.url + "/meetings")
        await page.get_by_role("button", name="Disconnect").click()
        await page.locator("#disconnected").wait_for()
        assert visitor.token is None
        assert await bus_verify(system, access) == {"active": False}
        assert not await connected_apps_lists_your_app(system, page)

        # Reconnect: the grant was revoked, so Mavio asks for consent again
        await page.goto(ex.url)
        await page.get_by_role("button", name="Connect Mavio").click()
        await authorize_on_consent_page(page, ex)
        assert await connected_apps_lists_your_app(system, page)

        # Revoke on Connected apps (in Mavio): Mavio's signed authorization.revoked reaches Your App,
        # which verifies it (standardwebhooks) and deletes what it kept for the user. Disconnect above
        # (the app's own RFC 7009 revocation) sent nothing.
        await page.goto(ex.url + "/meetings")
        await page.locator("#meetings").wait_for()
        assert visitor.meetings and visitor.sub == ex.user.id
        await page.goto(system.url(CONNECTED_APPS))
        await page.get_by_role("region", name="Your App").get_by_role("link", name="Revoke").click()
        await page.get_by_role("button", name="Revoke access").click()
        await page.get_by_role("status").filter(has_text="Access revoked").wait_for()
        await until("Your App heard of the revocation", lambda: _handled(ex))
        assert ex.webhooks.handled == [{"type": "authorization.revoked", "reason": "user", "visitors": 1}]
        assert visitor.token is None and visitor.meetings == []
        await page.goto(ex.url)
        await page.locator("#deleted-by-mavio").wait_for()


async def test_sign_in_with_mavio_then_sign_out(system: System, chromium: Any) -> None:
    """Sign in with Mavio (OpenID Connect through Authlib): sign in on Mavio, consent with ``openid``
    locked, back on Your App with the name and email from UserInfo; then Sign out: Mavio asks "Sign
    out of Mavio?", ends its session and sends the browser back to Your App's home page."""
    async with example_servers(system, developer="Demo Developer") as ex, walking(chromium) as page:
        await start_signed_out(page, ex, "Sign in with Mavio")
        await page.get_by_role("heading", name="Authorize Your App").wait_for()
        assert await page.is_disabled("input[name=granted][value=openid]")
        await page.get_by_role("button", name="Authorize").click()
        await page.wait_for_url(ex.url + "/")
        signed_in = await page.locator("#signed-in-as").inner_text()
        assert "Meeting Host" in signed_in and ex.user.email in signed_in
        [person] = [v.person for v in ex.app.visitors.values() if v.person]
        assert person["sub"] == ex.user.id and person["email_verified"] is False

        await page.get_by_role("button", name="Sign out").click()
        await page.get_by_role("heading", name="Sign out of Mavio?").wait_for()
        await page.locator("form[action='/oauth/logout']").get_by_role("button", name="Sign out").click()
        await page.wait_for_url(ex.url + "/?state=*")
        await page.get_by_role("button", name="Sign in with Mavio").wait_for()
        await page.goto(system.url(CONNECTED_APPS))
        assert "/login" in page.url  # the Mavio session ended too
