"""The app page's "Report a leaked credential" in a real Chromium: the owner pastes a leaked refresh
token, confirms, and the grant is gone; then the client secret, and the app page shows the banner until
a new secret is made. No CSP violation or page error on the way; every page of the flow passes axe-core
and fits 1280 and 360 px (screenshots in ``screenshots/``)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.audit import Audit
from tests.browser.console_watch import ConsoleWatch
from tests.support.factories import DEFAULT_PASSWORD
from tests.support.system import System
from tests.support.token_flow import Party, bus_verify, consent_code, exchange, new_party, refresh

pytestmark = pytest.mark.browser


async def sign_in(page: Any, system: System, party: Party, path: str) -> None:
    await page.goto(system.url(path))
    await page.get_by_label("Email").fill(party.owner.email)
    await page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(re.compile(re.escape(path) + "$"))


async def report(page: Any, watch: ConsoleWatch, credential: str) -> None:
    await page.get_by_role("link", name="Report a leaked credential").click()
    await page.get_by_label("Leaked token or client secret").fill(credential)
    await page.get_by_role("button", name="Continue").click()
    await page.get_by_role("button", name="Revoke it").click()
    await watch.wait_for_url(page, re.compile(r"\?notice=leak_revoked$"))
    await page.get_by_role("status").filter(has_text="The leaked credential was revoked.").wait_for()


async def test_the_owner_reports_a_leaked_token_and_secret_in_the_browser(
    system: System, chromium: Any
) -> None:
    party = await new_party(system, name="Leaky Deploy Bot")
    status, _, pair = await exchange(system, party, await consent_code(system, party))
    assert status == 200, pair
    app_path = f"/settings/developer/oauth-apps/{party.client_id}"
    watch = ConsoleWatch()
    context = await watch.new_context(chromium)
    page = await context.new_page()
    page.set_default_timeout(15_000)
    try:
        await sign_in(page, system, party, app_path)
        await report(page, watch, pair["refresh_token"])
        assert await bus_verify(system, pair["access_token"]) == {"active": False}
        await report(page, watch, party.secret)
        banner = page.get_by_role("alert").filter(has_text="Your client secret was")
        assert (
            await banner.inner_text() == "Your client secret was reported leaked and revoked. Regenerate it."
        )
    finally:
        await context.close()
    watch.assert_clean()
    status, _, body = await refresh(system, party, pair["refresh_token"])
    assert (status, body["error"]) == (401, "invalid_client")


async def test_the_leak_report_pages_pass_axe_and_fit_a_phone(system: System, chromium: Any) -> None:
    party = await new_party(system, name="Audited Leak Bot")
    status, _, pair = await exchange(system, party, await consent_code(system, party))
    assert status == 200, pair
    app_path = f"/settings/developer/oauth-apps/{party.client_id}"
    audit = Audit()
    context = await chromium.new_context(bypass_csp=True)  # axe is injected as a script tag
    page = await context.new_page()
    page.set_default_timeout(15_000)
    try:
        await sign_in(page, system, party, app_path)
        await page.get_by_role("link", name="Report a leaked credential").click()
        await audit.page(page, "leak-report-form")
        await page.get_by_label("Leaked token or client secret").fill("not a token")
        await page.get_by_role("button", name="Continue").click()
        await page.get_by_role("alert").filter(has_text="Paste an access token").wait_for()
        await audit.page(page, "leak-report-form-error")
        await page.get_by_label("Leaked token or client secret").fill(party.secret)
        await page.get_by_role("button", name="Continue").click()
        await page.get_by_role("heading", name="Revoke this client secret?").wait_for()
        assert party.secret not in await page.locator("main").inner_text()
        await audit.page(page, "leak-report-confirm")
        await page.get_by_role("button", name="Revoke it").click()
        await page.wait_for_url(re.compile(r"\?notice=leak_revoked$"))
        await audit.page(page, "app-secret-leaked-banner")
    finally:
        await context.close()
        audit.report()
    assert audit.failures() == []
