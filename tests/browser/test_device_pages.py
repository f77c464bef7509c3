"""The device flow's user side in a real Chromium, with openid-client 6 as the device (RFC 8628).

openid-client (``initiateDeviceAuthorization`` + ``pollDeviceAuthorizationGrant``, unmodified, run by
Node), as a confidential and as a public client, asks for a device code and polls; meanwhile Chromium
opens its ``verification_uri_complete``, signs in, finds the code prefilled, presses **Continue**,
meets the device consent page (the phishing warning, the time and address of the device's request)
and presses **Authorize** or **Deny**; the device then gets its tokens, or ``access_denied``. Every
device page is audited (axe-core, layout, no overflow at 360 px, screenshots at 1280 and 360 px) and
the console watched for CSP violations."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.audit import Audit
from tests.browser.console_watch import ConsoleWatch
from tests.support.device_flow import started
from tests.support.device_rp import node_device
from tests.support.factories import DEFAULT_PASSWORD
from tests.support.system import System
from tests.support.token_flow import Party, bus_verify, new_party

pytestmark = pytest.mark.browser

APP_SCOPES = ("openid", "meetings:read", "users:read")

SCOPE = "openid meetings:read users:read"  # with openid, openid-client validates the ID token too


async def sign_in_at(page: Any, url: str, party: Party) -> None:
    await page.goto(url)
    assert urlsplit(page.url).path == "/login"
    await page.fill("#email", party.user.email)
    await page.fill("#password", DEFAULT_PASSWORD)
    await page.click("button:has-text('Sign in')")
    await page.wait_for_selector("text=Connect a device")


@pytest.mark.parametrize("client_type", ["confidential", "public"])
async def test_openid_client_signs_in_while_the_user_approves_on_device(
    system: System, chromium: Any, client_type: str
) -> None:
    """The whole flow with the pages' CSP enforced: the console reports no violation. A confidential
    openid-client sends its secret (client_secret_post), a public one its client_id alone (none)."""
    party = await new_party(
        system, device_flow=True, name="Room Panel", client_type=client_type, scopes=APP_SCOPES
    )
    assert bool(party.secret) is (client_type == "confidential")
    watch = ConsoleWatch()
    context = await watch.new_context(chromium)
    page = await context.new_page()
    async with node_device(system.base_url, party.client_id, party.secret, SCOPE) as device:
        started = device.started
        assert started["verification_uri"] == system.url("/device") and started["interval"] == 5
        await sign_in_at(page, started["verification_uri_complete"], party)
        assert await page.input_value("#user_code") == started["user_code"]  # prefilled, not decided
        await page.click("button:has-text('Continue')")
        await page.wait_for_selector("text=Only continue if you started signing in on a device you own")
        assert await page.inner_text("#device-address") == "127.0.0.1"
        assert "meetings:read" in await page.inner_text("#device-scopes")
        await page.click("button:has-text('Authorize')")
        await page.wait_for_selector("#device-result")
        assert await page.inner_text("#device-result") == "Device connected"
        assert urlsplit(page.url).path == "/device/decide"  # nowhere off-site
        outcome = await device.outcome()
    tokens = outcome.get("tokens")
    assert tokens, outcome
    assert tokens["scope"] == SCOPE and tokens["token_type"].lower() == "bearer"
    claims = outcome["claims"]  # the ID token openid-client validated against the JWKS
    assert claims["sub"] == party.user.id and claims["aud"] == party.client_id
    assert claims["auth_time"] and claims["sid"] and "nonce" not in claims
    assert (await bus_verify(system, tokens["access_token"]))["active"] is True
    watch.assert_clean()


async def test_every_device_page_passes_axe_and_fits_a_phone(system: System, chromium: Any) -> None:
    """The code page (prefilled, then a wrong code), the device consent page, denied and connected, at
    1280 and 360 px; openid-client as the device gets ``access_denied`` after Deny."""
    party = await new_party(system, device_flow=True, name="Meeting Bot")
    audit = Audit()
    context = await chromium.new_context(bypass_csp=True)  # axe is injected as a script tag
    page = await context.new_page()
    try:
        async with node_device(system.base_url, party.client_id, party.secret, "meetings:read") as device:
            await sign_in_at(page, device.started["verification_uri_complete"], party)
            await audit.page(page, "device-code")
            await page.fill("#user_code", "BCDF-GHJK")
            await page.click("button:has-text('Continue')")
            await page.wait_for_selector("#device-error")
            assert "not valid" in await page.inner_text("#device-error")
            await audit.page(page, "device-wrong-code")
            await page.fill("#user_code", device.started["user_code"].lower().replace("-", " "))
            await page.click("button:has-text('Continue')")
            await page.wait_for_selector("text=Authorize Meeting Bot on a device")
            await audit.page(page, "device-consent")
            await page.click("button:has-text('Deny')")
            await page.wait_for_selector("#device-result")
            assert await page.inner_text("#device-result") == "Access denied"
            await audit.page(page, "device-denied")
            assert await device.outcome() == {"error": "access_denied"}
        second = await started(system, party)
        await page.goto(second["verification_uri_complete"])
        await page.click("button:has-text('Continue')")
        await page.click("button:has-text('Authorize')")
        await page.wait_for_selector("#device-result")
        await audit.page(page, "device-connected")
    finally:
        await context.close()
        audit.report()
    assert audit.failures() == []
