"""Settings > Connected apps in a real Chromium: a user who authorized two apps signs in, sees both with
their permissions, clicks Revoke on one; that app's tokens stop verifying at once, the other's do not."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.factories import DEFAULT_PASSWORD
from tests.support.system import System
from tests.support.token_flow import Party, bus_verify, consent_code, exchange, new_party

pytestmark = pytest.mark.browser


async def authorized(system: System, party: Party) -> dict[str, str]:
    status, _, body = await exchange(system, party, await consent_code(system, party))
    assert status == 200, body
    return body


async def test_a_user_revokes_a_connected_app_in_the_browser(system: System, chromium: Any) -> None:
    notes = await new_party(system, name="Meeting Notes Bot")
    calendar = await new_party(system, name="Calendar Sync")
    calendar = Party(calendar.app, calendar.secret, notes.user, calendar.owner)  # the same user
    notes_tokens = await authorized(system, notes)
    calendar_tokens = await authorized(system, calendar)

    context = await chromium.new_context()
    page = await context.new_page()
    page.set_default_timeout(15_000)
    try:
        await page.goto(system.url("/settings/connected-apps"))
        await page.get_by_label("Email").fill(notes.user.email)
        await page.get_by_label("Password").fill(DEFAULT_PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(re.compile(r"/settings/connected-apps$"))

        notes_card = page.get_by_role("region", name=notes.app.name)
        calendar_card = page.get_by_role("region", name=calendar.app.name)
        await notes_card.get_by_role("heading", name=notes.app.name).wait_for()
        assert "View your meetings and their details" in await notes_card.inner_text()
        assert "meetings:read" in await notes_card.inner_text()
        await calendar_card.get_by_role("heading", name=calendar.app.name).wait_for()

        await notes_card.get_by_role("link", name="Revoke").click()  # a confirmation step first
        await page.get_by_role("heading", name=f"Revoke {notes.app.name}?").wait_for()
        assert (await bus_verify(system, notes_tokens["access_token"]))["active"] is True
        await page.get_by_role("button", name="Revoke access").click()
        await page.wait_for_url(re.compile(r"/settings/connected-apps\?notice=revoked$"))
        await page.get_by_role("status").filter(has_text="Access revoked").wait_for()
        assert await page.get_by_role("region", name=notes.app.name).count() == 0
        assert await page.get_by_role("region", name=calendar.app.name).count() == 1
    finally:
        await context.close()

    assert (await bus_verify(system, notes_tokens["access_token"])) == {"active": False}
    assert (await bus_verify(system, calendar_tokens["access_token"]))["active"] is True
