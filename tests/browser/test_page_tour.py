"""Every page of the gateway in a real Chromium, signed out and signed in, through the labels a person
sees: axe-core finds no serious or critical violation, nothing overflows at 360 px, and each page is
saved as a screenshot at 1280 and 360 px (``tests/browser/audit.py``). Along the way: the error
summary takes focus, the copy buttons work from the keyboard, the chart shows axes and a table."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest

from shared.messages.registry import AccountView, AppView
from tests.browser.audit import Audit
from tests.support.factories import DEFAULT_PASSWORD, create_account, create_app
from tests.support.polling import eventually
from tests.support.system import System
from tests.support.token_flow import Party, api_calls, bus_verify, consent_code, exchange

pytestmark = pytest.mark.browser

APPS = "/settings/developer/oauth-apps"


def authorize_query(app: AppView, scope: str, **extra: str) -> str:
    query = {"response_type": "code", "client_id": app.client_id, "redirect_uri": app.redirect_uris[0],
             "scope": scope, "state": "tour", **extra}  # fmt: skip
    return "/oauth/authorize?" + urlencode(query)


async def used_app(system: System, owner: AccountView, user: AccountView) -> AppView:
    """An app of ``owner`` that ``user`` authorized, whose token was verified three times (a chart)."""
    app, secret = await create_app(system, owner, name="Minutes Robot", description="Writes minutes.")
    party = Party(app, secret, user, owner)
    status, _, pair = await exchange(system, party, await consent_code(system, party))
    assert status == 200, pair
    for _ in range(3):
        assert (await bus_verify(system, pair["access_token"]))["active"] is True
    await eventually(lambda: api_calls(system, app.client_id), lambda n: n == 3, timeout=10)  # flushed later
    return app


async def test_every_page_passes_axe_and_fits_a_phone(system: System, chromium: Any) -> None:
    audit = Audit()
    dev = await create_account(system, name="Tour Developer")
    other = await create_account(system, name="Other Developer")
    elsewhere, _ = await create_app(
        system, other, name="Calendar Bridge", homepage_url="https://calendar.example"
    )
    context = await chromium.new_context(bypass_csp=True)  # axe is injected as a script tag
    await context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = await context.new_page()
    page.set_default_timeout(15_000)
    missing: list[str] = []  # anything a page loads (the favicon too) that is not there
    page.on(
        "response",
        lambda r: (
            missing.append(r.url) if r.status == 404 and r.request.resource_type != "document" else None
        ),
    )
    try:
        await signed_out_pages(system, page, audit, elsewhere)
        await page.get_by_label("Email").fill(dev.email)
        await page.get_by_label("Password").fill(DEFAULT_PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(re.compile(r"/oauth/authorize"))
        # In the middle of someone else's flow: no developer navigation, only a way to sign out.
        assert await page.get_by_role("navigation", name="Main").count() == 0
        assert await page.locator("header a[href^='/settings']").count() == 0
        assert await page.get_by_role("button", name="Sign out").count() == 1
        await audit.page(page, "consent")
        await developer_pages(system, page, audit)
        await user_pages(system, page, audit, dev, elsewhere)
    finally:
        await context.close()
        audit.report()
    assert audit.failures() == []
    assert missing == []


async def signed_out_pages(system: System, page: Any, audit: Audit, app: AppView) -> None:
    for name, path in (
        ("home-signed-out", "/"),
        ("login", "/login"),
        ("not-found-signed-out", "/no-such-page"),
        ("authorize-error", "/oauth/authorize?client_id=mavio_client_0000000000000000&response_type=code"),
    ):
        await page.goto(system.url(path))
        await audit.page(page, name)
    await page.goto(system.url(authorize_query(app, "meetings:read transcripts:read")))
    await page.get_by_text("Calendar Bridge is asking to use your Mavio account").wait_for()
    await audit.page(page, "login-for-app")


async def developer_pages(system: System, page: Any, audit: Audit) -> None:
    for name, path in (("home", "/"), ("settings", "/settings"), ("developer", "/settings/developer")):
        await page.goto(system.url(path))
        await audit.page(page, name)
    await page.get_by_role("link", name="OAuth Apps").first.click()
    await page.get_by_text("You have not registered any apps yet.").wait_for()
    await audit.page(page, "apps-empty")
    await page.get_by_role("link", name="Register New App").click()
    await audit.page(page, "app-new")

    # errors: the summary takes focus and links to each field
    await page.get_by_role("textbox", name="Redirect URIs", exact=True).fill(
        "http://x/#a\nhttps://*.example/cb"
    )
    await page.get_by_role("button", name="Register app").click()
    await page.locator("#error-summary").wait_for()
    assert await page.evaluate("() => document.activeElement.id") == "error-summary"
    assert "Redirect URI 2" in await page.locator("#error-summary").inner_text()
    await audit.page(page, "app-form-errors")
    summary = await page.locator("#error-summary li").all_inner_texts()
    assert "Homepage URL is required" in summary and not any(": " in item.split(" (")[0] for item in summary)
    await page.locator("#error-summary").get_by_role("link", name=re.compile("^Homepage URL")).click()
    assert await page.evaluate("() => document.activeElement.id") == "homepage_url"

    await page.get_by_label("App name").fill("Tour App")
    await page.get_by_label("Homepage URL").fill("https://tour.example")
    await page.get_by_role("textbox", name="Redirect URIs", exact=True).fill("https://tour.example/callback")
    await page.get_by_label("meetings:read").check()
    await page.get_by_role("button", name="Register app").click()
    await page.wait_for_url(re.compile(r"/credentials$"))
    secret = (await page.locator("#client-secret").inner_text()).strip()
    await page.get_by_role("button", name="Copy client secret").focus()
    await page.keyboard.press("Enter")
    await page.get_by_text("client secret copied.").wait_for()
    assert await page.evaluate("() => navigator.clipboard.readText()") == secret
    await audit.page(page, "credentials")
    await page.reload()
    await page.get_by_text("was already shown").wait_for()
    assert secret not in await page.content()
    await audit.page(page, "credentials-already-shown")

    await page.get_by_role("link", name=re.compile("^Back to Tour App")).click()
    await page.locator("#api-calls-empty").wait_for()
    # Delete stands apart, in its own danger zone, not among the other actions.
    assert await page.locator("#danger-zone").get_by_role("link", name="Delete app").count() == 1
    assert await page.locator("#actions").get_by_role("link", name=re.compile("Delete")).count() == 0
    await audit.page(page, "app-detail-no-calls")
    for name, link in (
        ("app-edit", "Edit"),
        ("confirm-regenerate", "Regenerate client secret"),
        ("confirm-revoke-all", "Revoke all tokens"),
        ("confirm-delete", "Delete app"),
    ):
        await page.get_by_role("link", name=re.compile("^" + link)).first.click()
        await audit.page(page, name)
        await page.go_back()
    await page.goto(system.url(APPS))
    await audit.page(page, "apps-list")


async def user_pages(system: System, page: Any, audit: Audit, dev: AccountView, elsewhere: AppView) -> None:
    await page.goto(system.url("/settings/connected-apps"))
    await page.locator("#no-connected-apps").wait_for()
    await audit.page(page, "connected-apps-empty")

    used = await used_app(system, dev, dev)
    await page.goto(system.url(f"{APPS}/{used.client_id}"))
    await page.locator("#api-calls-chart").wait_for()
    assert await page.locator(".y-axis").inner_text() != ""
    await page.get_by_text("API calls per day as a table").click()
    assert await page.locator("#api-calls-table tbody tr").count() == 30
    await audit.page(page, "app-detail-with-calls")

    party = Party(elsewhere, "", dev, dev)
    await consent_code(system, party, scope="meetings:read")  # remembered: the next page asks for one
    await page.goto(system.url(authorize_query(elsewhere, "meetings:read transcripts:read")))
    await page.locator("#remembered-scopes").wait_for()
    await audit.page(page, "consent-new-scope-only")

    await page.goto(system.url("/settings/connected-apps"))
    await audit.page(page, "connected-apps")
    await page.get_by_role("region", name="Minutes Robot").get_by_role("link", name="Revoke").click()
    await audit.page(page, "confirm-revoke-connected")
    await page.goto(system.url("/settings/no-such-page"))
    assert await page.get_by_role("navigation", name="Main").count() == 1
    await audit.page(page, "not-found")


async def test_the_audit_catches_violations_and_overflow(chromium: Any) -> None:
    """The checks above can fail: a page with an unlabelled button, an image without alt text and a
    600 px wide block is reported (critical violations, overflow at 360 px)."""
    audit = Audit()
    context = await chromium.new_context()
    page = await context.new_page()
    try:
        await page.set_content(
            '<!doctype html><html lang="en"><title>Bad</title><main><h1>Bad page</h1><img src="x.png">'
            '<button></button><div style="width:600px">wide</div>'
            '<p style="width:60px"><code class="scope-name" style="white-space:normal;word-break:break-all">'
            "transcripts:read</code></p></main></html>"
        )
        await audit.page(page, "known-bad")
    finally:
        await context.close()
    found = "\n".join(audit.failures())
    assert "critical image-alt" in found and "critical button-name" in found
    assert "known-bad @360px: 2" in found and "px of horizontal overflow" in found
    assert "scope name 'transcripts:read' broken across lines" in found


async def test_without_javascript_the_secret_is_shown_and_selectable(system: System, chromium: Any) -> None:
    """Copy buttons are an enhancement: with JavaScript off they stay hidden and the values remain
    on the page, selected whole by a click (``user-select: all``)."""
    dev = await create_account(system, name="No Script Developer")
    context = await chromium.new_context(java_script_enabled=False)
    page = await context.new_page()
    page.set_default_timeout(15_000)
    try:
        await page.goto(system.url(APPS + "/new"))
        await page.get_by_label("Email").fill(dev.email)
        await page.get_by_label("Password").fill(DEFAULT_PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_label("App name").fill("Plain App")
        await page.get_by_label("Homepage URL").fill("https://plain.example")
        await page.get_by_role("textbox", name="Redirect URIs", exact=True).fill("https://plain.example/cb")
        await page.get_by_label("users:read").check()
        await page.get_by_role("button", name="Register app").click()
        await page.wait_for_url(re.compile(r"/credentials$"))
        secret = page.locator("#client-secret")
        assert (await secret.inner_text()).startswith("mavio_cs_") and await secret.is_visible()
        assert await page.get_by_role("button", name="Copy client secret").count() == 0
        css = await page.locator("link[rel=stylesheet]").get_attribute("href")
        assert css == "/static/mavio.css"
    finally:
        await context.close()
