"""An app's webhook on its pages, in a real Chromium through the labels a person sees: the **Webhook URL**
field (a refused URL gets its message), the signing secret shown once on the one-time view, **Regenerate
signing secret** behind its confirmation. Every page passes axe-core and fits a phone (1280 and 360 px,
screenshots saved like the other page tests); a CSP violation or page error fails the walk."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from standardwebhooks.webhooks import Webhook

from services.registry.webhook_secrets import purpose
from shared import keys
from shared.apps.records import AppRecord
from shared.sealing import Sealer
from tests.browser.audit import Audit
from tests.browser.console_watch import ConsoleWatch
from tests.support.factories import DEFAULT_PASSWORD, create_account, create_app
from tests.support.system import System, start_system

pytestmark = pytest.mark.browser

APPS = "/settings/developer/oauth-apps"


@pytest.fixture(scope="module")
async def page_system() -> AsyncIterator[System]:
    sut = await start_system(services=("registry",))
    yield sut
    await sut.close()


async def stored_secret(system: System, client_id: str) -> str:
    """The app's signing secret as the webhooks service reads it: the record's, unsealed."""
    app = msgspec.json.decode(await system.redis.get(keys.app(client_id)), type=AppRecord)
    return (
        Sealer(system.settings.encryption_key).open(app.webhook_secret, purpose=purpose(client_id)).decode()
    )


async def signed_in_page(system: System, chromium: Any, watch: ConsoleWatch) -> tuple[Any, Any, str]:
    account = await create_account(system, name="Hook Developer")
    app, _ = await create_app(system, account, name="Hook Receiver")
    context = await watch.new_context(chromium, bypass_csp=True)  # axe is injected as a script tag
    page = await context.new_page()
    page.set_default_timeout(15_000)
    await page.goto(system.url(f"{APPS}/{app.client_id}"))
    await page.get_by_label("Email").fill(account.email)
    await page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await watch.wait_for_url(page, re.compile(rf"/oauth-apps/{app.client_id}$"))
    return context, page, app.client_id


async def test_a_webhook_url_is_set_its_secret_shown_once_and_regenerated(
    page_system: System, chromium: Any
) -> None:
    system, audit, watch = page_system, Audit(), ConsoleWatch()
    context, page, client_id = await signed_in_page(system, chromium, watch)
    try:
        assert "None. Add one" in await page.locator("#app-webhook-url").inner_text()
        assert await page.get_by_role("link", name="Regenerate signing secret").count() == 0
        await page.get_by_role("link", name="Edit").click()
        await page.get_by_label("Webhook URL").fill("ftp://hooks.example/in")
        await page.get_by_role("button", name="Save changes").click()
        error = (await page.locator("#webhook_url-error").inner_text()).strip()
        assert error.startswith("Webhook URL (ftp://hooks.example/in) must start with https://")
        await audit.page(page, "app-edit-webhook-refused")
        await page.get_by_label("Webhook URL").fill("http://127.0.0.1:9/hooks")
        await page.get_by_role("button", name="Save changes").click()
        await watch.wait_for_url(page, re.compile(rf"/oauth-apps/{client_id}/credentials$"))
        secret = (await page.locator("code#webhook-secret").inner_text()).strip()
        assert secret.startswith("whsec_") and secret == await stored_secret(system, client_id)
        assert await page.locator("code#client-secret").count() == 0
        Webhook(secret)  # the library takes it as it is shown
        await audit.page(page, "webhook-secret-once")
        await page.reload()
        assert secret not in await page.content() and "already shown" in await page.content()
        await page.goto(system.url(f"{APPS}/{client_id}"))
        assert "http://127.0.0.1:9/hooks" in await page.locator("#app-webhook-url").inner_text()
        assert secret not in await page.content()
        await page.get_by_role("link", name="Regenerate signing secret").click()
        await audit.page(page, "confirm-webhook-secret")
        await page.get_by_role("button", name="Regenerate signing secret").click()
        await watch.wait_for_url(page, re.compile(rf"/oauth-apps/{client_id}/credentials$"))
        again = (await page.locator("code#webhook-secret").inner_text()).strip()
        assert (
            again.startswith("whsec_") and again != secret and again == await stored_secret(system, client_id)
        )
        await page.get_by_role("link", name="I have stored the secret").click()
        await watch.wait_for_url(page, re.compile(rf"/oauth-apps/{client_id}$"))
        await audit.page(page, "app-with-webhook")
    finally:
        await context.close()
        audit.report("axe-report-webhooks.json")
    watch.assert_clean()
    assert audit.failures() == []


async def test_registering_with_a_webhook_url_shows_both_secrets_once(
    page_system: System, chromium: Any
) -> None:
    system, watch = page_system, ConsoleWatch()
    context, page, _ = await signed_in_page(system, chromium, watch)
    try:
        await page.goto(system.url(f"{APPS}/new"))
        await page.get_by_label("App name").fill("Hooked From Birth")
        await page.get_by_label("Homepage URL").fill("https://hooked.example")
        await page.get_by_role("textbox", name="Redirect URIs", exact=True).fill("https://hooked.example/cb")
        await page.get_by_label("meetings:read").check()
        await page.get_by_label("Webhook URL").fill("https://hooked.example/hooks")
        await page.get_by_role("button", name="Register app").click()
        await watch.wait_for_url(page, re.compile(r"/credentials$"))
        client_id = (await page.locator("code#client-id").inner_text()).strip()
        assert (await page.locator("code#client-secret").inner_text()).startswith("mavio_cs_")
        shown = (await page.locator("code#webhook-secret").inner_text()).strip()
        assert shown == await stored_secret(system, client_id)
        assert await page.get_by_role("link", name="I have stored the secrets").count() == 1
    finally:
        await context.close()
    watch.assert_clean()
