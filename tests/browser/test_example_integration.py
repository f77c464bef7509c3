"""The example integration (``examples/``) in a real Chromium against a whole Mavio system: Your App
(Authlib, PKCE, server-side tokens) and the Meetings API (``shared.verify_client``).

Connect -> sign in -> Deny -> friendly page; Connect again -> Authorize -> meetings list; revoke on
Connected apps -> Your App asks to reconnect -> Reconnect -> meetings again. With a 2-second access
token, Your App refreshes by itself: after a 401 from the API, and before expiry."""

from __future__ import annotations

import dataclasses
import re
import time
from typing import Any

import pytest

from shared.messages.registry import AccountView
from tests.browser.audit import Audit
from tests.browser.example_servers import ExampleServers, example_servers
from tests.support.factories import DEFAULT_PASSWORD
from tests.support.polling import eventually
from tests.support.system import System, running_system
from tests.support.token_flow import bus_verify

pytestmark = pytest.mark.browser


async def sign_in(page: Any, user: AccountView) -> None:
    await page.get_by_text("Your App is asking to use your Mavio account").wait_for()
    await page.get_by_label("Email").fill(user.email)
    await page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()


async def authorize(page: Any, ex: ExampleServers) -> None:
    await page.get_by_role("heading", name="Authorize Your App").wait_for()
    await page.get_by_role("button", name="Authorize").click()
    await page.wait_for_url(ex.url + "/meetings")
    await page.get_by_text("Weekly planning").wait_for()


async def expired_for_your_app(visitor: Any) -> bool:
    """Your App's own view (``your_app.call_api``): its access token's ``expires_at`` has passed."""
    return visitor.token is not None and visitor.token.get("expires_at", 0) <= time.time()


async def test_connect_deny_authorize_revoke_and_reconnect(system: System, chromium: Any) -> None:
    audit = Audit()
    async with example_servers(system, webhooks=False) as ex:  # the refusal path; webhooks: test_demo_walk
        context = await chromium.new_context()
        page = await context.new_page()
        page.set_default_timeout(15_000)
        try:
            await page.goto(ex.url)
            await audit.page(page, "example-home")
            await page.get_by_role("button", name="Connect Mavio").click()
            await sign_in(page, ex.user)
            await page.get_by_role("heading", name="Authorize Your App").wait_for()
            await page.get_by_role("button", name="Deny").click()
            await page.locator("#denied").wait_for()
            await audit.page(page, "example-denied")
            assert all(v.token is None for v in ex.app.visitors.values())

            await page.get_by_role("button", name="Connect Mavio").click()
            await authorize(page, ex)
            assert len(await page.locator("#meetings li").all()) == 3
            await audit.page(page, "example-meetings")
            token = ex.visitor().token
            assert token is not None and token["access_token"].startswith("mavio_at_")
            assert token["access_token"] not in await page.content()  # tokens stay server-side
            assert all("mavio_" not in c["value"] for c in await context.cookies())

            # the user revokes Your App on Mavio: Your App notices and offers to reconnect
            await page.goto(system.url("/settings/connected-apps"))
            await page.get_by_role("region", name="Your App").get_by_role("link", name="Revoke").click()
            await page.get_by_role("button", name="Revoke access").click()
            await page.get_by_text("Access revoked").wait_for()
            await page.goto(ex.url + "/meetings")
            await page.locator("#reconnect").wait_for()
            await audit.page(page, "example-reconnect")
            await page.get_by_role("button", name="Reconnect Mavio").click()
            await authorize(page, ex)  # revoked, so not remembered: the consent page again
        finally:
            await context.close()
            audit.report()
    assert audit.failures() == []


async def test_a_short_lived_access_token_is_refreshed_by_itself(chromium: Any) -> None:
    async with running_system({"MAVIO_ACCESS_TOKEN_TTL": "2"}) as system, example_servers(system) as ex:
        context = await chromium.new_context()
        page = await context.new_page()
        page.set_default_timeout(15_000)
        try:
            await page.goto(ex.url)
            await page.get_by_role("button", name="Connect Mavio").click()
            await sign_in(page, ex.user)
            await authorize(page, ex)
            visitor = ex.visitor()

            # Only on a 401 (no early refresh): the API refuses the expired token, Your App refreshes once.
            ex.app.config = dataclasses.replace(ex.app.config, refresh_leeway=-3600)
            first = visitor.token["access_token"] if visitor.token else ""
            # until the 2-second token has expired
            await eventually(lambda: bus_verify(system, first), lambda info: info == {"active": False})
            assert (await bus_verify(system, first)) == {"active": False}
            await page.reload()
            await page.get_by_text("Weekly planning").wait_for()
            assert visitor.refreshes_after_401 == 1
            second = visitor.token["access_token"] if visitor.token else ""
            assert second not in ("", first)

            # Before expiry (the default): the next call after expiry refreshes first, no 401.
            ex.app.config = dataclasses.replace(ex.app.config, refresh_leeway=0)
            refreshes = visitor.refreshes
            await eventually(lambda: expired_for_your_app(visitor))
            await page.reload()
            await page.get_by_text("Weekly planning").wait_for()
            assert visitor.refreshes == refreshes + 1 and visitor.refreshes_after_401 == 1
            assert re.search(
                r"renewed automatically \d+ times?", await page.locator("#refreshes").inner_text()
            )
        finally:
            await context.close()
