"""Settings > Developer > OAuth Apps in a real Chromium, through the labels a person sees: sign in,
register an app with a logo, read the secret once, edit, regenerate the secret, revoke all tokens,
delete the app, sign out; and a public app, registered with the Client type control."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from shared.errors import InvalidClient, NotFound
from shared.messages.revocation import RevokeAppRequest
from shared.registry_client import RegistryClient
from tests.browser.audit import Audit
from tests.support.factories import DEFAULT_PASSWORD, RevocationStandIn, create_account, image_bytes
from tests.support.system import System, start_system

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
async def browser_system() -> AsyncIterator[System]:
    """Registry and gateway; the revocation service's answer comes from ``RevocationStandIn``."""
    sut = await start_system(services=("registry",))
    yield sut
    await sut.close()


async def test_developer_manages_an_app_from_registration_to_deletion(
    browser_system: System, chromium: Any
) -> None:
    system = browser_system
    registry = RegistryClient(system.bus)
    account = await create_account(system, name="Browser Dev")
    context = await chromium.new_context()
    page = await context.new_page()
    page.set_default_timeout(15_000)
    async with RevocationStandIn(system) as revocation:
        # sign in
        await page.goto(system.url("/settings/developer/oauth-apps"))
        await page.get_by_label("Email").fill(account.email)
        await page.get_by_label("Password").fill(DEFAULT_PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(re.compile(r"/settings/developer/oauth-apps$"))

        # register with a logo
        await page.get_by_role("link", name="Register New App").click()
        await page.get_by_label("App name").fill("Browser App")
        await page.get_by_label("Description").fill("Made in a real browser")
        await page.get_by_label("Homepage URL").fill("https://browser-app.example")
        await page.get_by_role("textbox", name="Redirect URIs", exact=True).fill(
            "https://browser-app.example/cb\nhttp://127.0.0.1:7000/cb"
        )
        logo = {"name": "logo.png", "mimeType": "image/png", "buffer": image_bytes("PNG", (512, 512))}
        await page.get_by_label("Logo", exact=True).set_input_files(logo)
        await page.get_by_label("meetings:read").check()
        await page.get_by_label("users:read").check()
        await page.get_by_role("button", name="Register app").click()

        # the secret, once
        client_id = (await page.locator("code#client-id").inner_text()).strip()
        secret = (await page.locator("code#client-secret").inner_text()).strip()
        assert client_id.startswith("mavio_client_") and secret.startswith("mavio_cs_")
        assert "shown only once" in await page.content()
        assert (await registry.verify_client(client_id, secret)).name == "Browser App"
        await page.get_by_role("link", name="I have stored the secret").click()
        await page.wait_for_url(re.compile(rf"/oauth-apps/{client_id}$"))
        assert secret not in await page.content()
        assert await page.locator("code#client-secret").count() == 0
        logo_width = await page.locator("img.logo").evaluate("img => img.naturalWidth")
        assert logo_width == 256
        await page.reload()
        assert secret not in await page.content()

        # edit
        await page.get_by_role("link", name="Edit").click()
        await page.get_by_label("App name").fill("Browser App Renamed")
        await page.get_by_label("transcripts:read").check()
        await page.get_by_label("ID token signing algorithm").select_option("ES256")
        await page.get_by_role("button", name="Save changes").click()
        await page.get_by_text("Your changes were saved.").wait_for()
        assert await page.get_by_role("heading", name="Browser App Renamed").count() == 1
        edited = await registry.get_app(client_id)
        assert edited.scopes == ["meetings:read", "transcripts:read", "users:read"]
        assert edited.id_token_signed_response_alg == "ES256"
        assert (await page.locator("#app-id-token-alg").inner_text()).strip() == "ES256"

        # regenerate the secret (old one invalid at once, the default)
        await page.get_by_role("link", name="Regenerate client secret").click()
        await page.get_by_role("button", name="Regenerate client secret").click()
        new_secret = (await page.locator("code#client-secret").inner_text()).strip()
        assert new_secret.startswith("mavio_cs_") and new_secret != secret
        with pytest.raises(InvalidClient):
            await registry.verify_client(client_id, secret)
        await registry.verify_client(client_id, new_secret)
        await page.get_by_role("link", name="I have stored the secret").click()
        assert new_secret not in await page.content()

        # revoke all tokens
        await page.get_by_role("link", name="Revoke all tokens").click()
        await page.get_by_role("button", name="Revoke all tokens").click()
        await page.get_by_text("Every token of this app was revoked.").wait_for()
        assert revocation.calls == [
            RevokeAppRequest(client_id=client_id, reason="app_revoke_all", actor=account.id)
        ]

        # delete, confirming with the app's name
        await page.get_by_role("link", name="Delete app").click()
        assert "will lose access" in await page.content()
        await page.get_by_label(re.compile("Type the app name")).fill("Browser App Renamed")
        await page.get_by_role("button", name="Delete app").click()
        await page.get_by_text("The app was deleted.").wait_for()
        assert client_id not in await page.content()
        assert revocation.calls[-1] == RevokeAppRequest(
            client_id=client_id, reason="app_deleted", actor=account.id
        )
        with pytest.raises(NotFound):
            await registry.get_app(client_id)

        # sign out
        await page.get_by_role("button", name="Sign out").click()
        await page.wait_for_url(re.compile(r"/login$"))
        await page.goto(system.url("/settings/developer/oauth-apps"))
        assert await page.get_by_role("button", name="Sign in").count() == 1
    await context.close()


async def test_a_public_app_is_registered_with_the_client_type_control(
    browser_system: System, chromium: Any
) -> None:
    """The Client type control (Confidential by default), a public app's credentials view without a
    secret and its app page without Regenerate: axe-core, 360 px and screenshots at 1280 and 360 px."""
    system = browser_system
    audit = Audit()
    account = await create_account(system, name="Native Dev")
    context = await chromium.new_context(bypass_csp=True)  # axe is injected as a script tag
    page = await context.new_page()
    page.set_default_timeout(15_000)
    try:
        await page.goto(system.url("/settings/developer/oauth-apps/new"))
        await page.get_by_label("Email").fill(account.email)
        await page.get_by_label("Password").fill(DEFAULT_PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        group = page.get_by_role("group", name="Client type")
        confidential = group.get_by_role("radio", name=re.compile("^Confidential"))
        public = group.get_by_role("radio", name=re.compile("^Public"))
        assert await confidential.is_checked() and not await public.is_checked()
        assert "a web server that can keep a secret" in await group.inner_text()
        assert "a desktop, mobile, command-line or browser app" in await group.inner_text()
        await page.get_by_label("App name").fill("Meetings CLI")
        await page.get_by_label("Homepage URL").fill("https://cli.example")
        await page.get_by_role("textbox", name="Redirect URIs", exact=True).fill(
            "http://127.0.0.1/callback\nmyapp:/callback"
        )
        await page.get_by_label("meetings:read").check()
        await public.check()
        await audit.page(page, "app-new-public")
        await page.get_by_role("button", name="Register app").click()
        await page.locator("#error-summary").wait_for()
        assert "reverse-domain form" in await page.locator("#error-summary").inner_text()
        assert await page.get_by_role("radio", name=re.compile("^Public")).is_checked()  # the choice is kept
        await page.get_by_role("textbox", name="Redirect URIs", exact=True).fill(
            "http://127.0.0.1/callback\ncom.example.cli:/callback"
        )
        await page.get_by_role("button", name="Register app").click()
        await page.wait_for_url(re.compile(r"/credentials$"))
        client_id = (await page.locator("code#client-id").inner_text()).strip()
        assert await page.locator("#client-secret").count() == 0
        assert "it cannot keep a secret, so Mavio gives it none" in " ".join((await page.content()).split())
        await audit.page(page, "credentials-public")
        app = await RegistryClient(system.bus).get_app(client_id)
        assert app.client_type == "public" and app.redirect_uris[1] == "com.example.cli:/callback"
        await page.get_by_role("link", name="Continue to Meetings CLI").click()
        await page.wait_for_url(re.compile(rf"/oauth-apps/{client_id}$"))
        assert (await page.locator("#app-client-type").inner_text()).startswith("Public")
        assert await page.get_by_role("link", name="Regenerate client secret").count() == 0
        assert await page.get_by_role("link", name="Revoke all tokens").count() == 1
        await audit.page(page, "app-detail-public")
    finally:
        await context.close()
        audit.report()
    assert audit.failures() == []
