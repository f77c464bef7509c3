"""The demo's Connect / Disconnect / Reconnect, as a person walks it in a fresh Chromium context, with
Your App and the Meetings API of ``make demo`` (``examples/``) in front of a whole Mavio system.

Connect (signed out: sign in, consent, Authorize) -> meetings with dates for people -> Disconnect
(Your App revokes its refresh token, RFC 7009) -> Your App is gone from the user's Connected apps and
its tokens are dead -> Reconnect asks for consent again -> meetings, and Connected apps lists it again.
Any Content Security Policy violation in the console, or an uncaught page error, fails the test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web

from examples import meetings_api, your_app
from services.stack.embedded import free_port
from shared.messages.registry import AccountView
from tests.support.factories import DEFAULT_PASSWORD, create_account, create_app
from tests.support.system import System
from tests.support.token_flow import bus_verify

pytestmark = pytest.mark.browser

CONNECTED_APPS = "/settings/connected-apps"


@dataclass
class Demo:
    url: str
    app: your_app.YourApp
    user: AccountView


@asynccontextmanager
async def demo(system: System) -> AsyncIterator[Demo]:
    """The demo's two example servers on loopback ports; Your App registered as ``make demo`` does."""
    api_port, app_port = free_port(), free_port()
    developer = await create_account(system, name="Demo Developer")
    registered, secret = await create_app(
        system, developer, name="Your App", redirect_uris=[f"http://127.0.0.1:{app_port}/callback"],
        scopes=["meetings:read", "transcripts:read", "users:read"],
    )  # fmt: skip
    config = your_app.Config(
        mavio_url=system.url(""),
        client_id=registered.client_id,
        client_secret=secret,
        redirect_uri=registered.redirect_uris[0],
        api_url=f"http://127.0.0.1:{api_port}",
    )
    runners = []
    try:
        for application, port in (
            (meetings_api.create_app(system.nc), api_port),
            (your_app.create_app(config), app_port),
        ):
            runner = web.AppRunner(application, access_log=None)
            runners.append(runner)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
        user = await create_account(system, name="Meeting Host")
        yield Demo(f"http://127.0.0.1:{app_port}", runners[1].app[your_app.APP], user)
    finally:
        for runner in runners:
            await runner.cleanup()


class Console:
    """What the page reports: CSP violations in the console and uncaught errors."""

    def __init__(self, page: Any) -> None:
        self.csp: list[str] = []
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _console(self, msg: Any) -> None:
        if msg.type == "error" and "Content Security Policy" in msg.text:
            self.csp.append(f"{msg.location.get('url', '?')}: {msg.text}")


async def authorize_on_consent_page(page: Any, ex: Demo) -> None:
    await page.get_by_role("heading", name="Authorize Your App").wait_for()
    await page.get_by_role("button", name="Authorize").click()
    await page.wait_for_url(ex.url + "/meetings")
    await page.get_by_text("Weekly planning").wait_for()


async def connected_apps_lists_your_app(system: System, page: Any) -> bool:
    await page.goto(system.url(CONNECTED_APPS))
    await page.get_by_role("heading", name="Connected apps", exact=False).first.wait_for()
    return int(await page.get_by_role("region", name="Your App").count()) > 0


async def test_connect_disconnect_reconnect(system: System, chromium: Any) -> None:
    async with demo(system) as ex:
        context = await chromium.new_context()
        page = await context.new_page()
        page.set_default_timeout(15_000)
        console = Console(page)
        try:
            # Connect, signed out: sign in on Mavio, then the consent page
            await page.goto(ex.url)
            await page.get_by_role("button", name="Connect Mavio").click()
            await page.get_by_label("Email").fill(ex.user.email)
            await page.get_by_label("Password").fill(DEFAULT_PASSWORD)
            await page.get_by_role("button", name="Sign in").click()
            await authorize_on_consent_page(page, ex)
            meetings = await page.locator("#meetings").inner_text()
            assert "Tue 1 Dec 2026, 09:00 UTC" in meetings and "2026-12-01T" not in meetings
            [visitor] = [v for v in ex.app.visitors.values() if v.token is not None]
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
        finally:
            await context.close()
    assert console.csp == [], console.csp
    assert console.errors == [], console.errors
