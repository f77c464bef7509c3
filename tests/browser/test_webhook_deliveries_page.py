"""The **Webhook deliveries** table on an app's page, in a real Chromium through the labels a person sees,
with the webhooks service delivering to a local receiver that verifies each request with the
``standardwebhooks`` library: **Send test event** to a receiver answering 500 ends *failed* after every
attempt of a short schedule (``MAVIO_WEBHOOK_RETRY_SCHEDULE``), **Redeliver** sends it again with the same
``webhook-id`` and it is *delivered*; a disabled endpoint's notice and **Enable**. Every page passes
axe-core and fits a phone (1280 and 360 px, screenshots saved); a CSP violation fails the walk."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.webhooks.store import WebhookStore
from tests.browser.audit import Audit
from tests.browser.console_watch import ConsoleWatch
from tests.support.factories import DEFAULT_PASSWORD, create_account, create_app
from tests.support.polling import eventually
from tests.support.system import System, start_system
from tests.support.webhooks import Receiver

pytestmark = pytest.mark.browser

APPS = "/settings/developer/oauth-apps"
ENV = {"MAVIO_WEBHOOK_RETRY_SCHEDULE": "100ms,100ms", "MAVIO_WEBHOOK_TIMEOUT": "1"}


@pytest.fixture(scope="module")
async def hooks_system() -> AsyncIterator[System]:
    sut = await start_system(ENV, services=("registry", "webhooks"))
    yield sut
    await sut.close()


async def first_row(page: Any) -> dict[str, str]:
    """The newest delivery as the table shows it, after a reload."""
    await page.reload()
    cells = page.locator("#webhook-deliveries tbody tr").first.locator("td")
    texts = [t.strip() for t in await cells.all_inner_texts()]
    return dict(zip(("type", "time", "status", "attempts", "last", "action"), texts, strict=True))


async def test_send_test_event_redeliver_and_enable(hooks_system: System, chromium: Any) -> None:
    system, audit, watch = hooks_system, Audit(), ConsoleWatch()
    receiver = await Receiver(answers=[500, 500, 500]).start()
    account = await create_account(system, name="Hook Developer")
    app, _ = await create_app(system, account, name="Delivery Log")
    context = await watch.new_context(chromium, bypass_csp=True)  # axe is injected as a script tag
    page = await context.new_page()
    page.set_default_timeout(15_000)
    try:
        await page.goto(system.url(f"{APPS}/{app.client_id}/edit"))
        await page.get_by_label("Email").fill(account.email)
        await page.get_by_label("Password").fill(DEFAULT_PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await watch.wait_for_url(page, re.compile(r"/edit$"))
        await page.get_by_label("Webhook URL").fill(receiver.url)
        await page.get_by_role("button", name="Save changes").click()
        await watch.wait_for_url(page, re.compile(r"/credentials$"))
        receiver.secret = (await page.locator("code#webhook-secret").inner_text()).strip()
        await page.get_by_role("link", name="I have stored the secret").click()
        await page.get_by_role("heading", name="Webhook deliveries").wait_for()
        assert await page.locator("#webhook-deliveries-empty").count() == 1
        await audit.page(page, "webhook-deliveries-empty")

        await page.get_by_role("button", name="Send test event").click()
        await page.get_by_text("A test event was queued").wait_for()
        failed = await eventually(lambda: first_row(page), lambda r: r["status"] == "failed", timeout=20)
        assert failed["type"] == "webhook.test" and failed["attempts"] == "3" and failed["last"] == "500"
        assert len(receiver.received) == 3 and len(set(receiver.ids())) == 1
        assert all(r.payload is not None for r in receiver.received)  # each attempt verified
        await audit.page(page, "webhook-deliveries-failed")

        await page.get_by_role("button", name=re.compile(r"^Redeliver")).click()
        await page.get_by_text("queued again").wait_for()
        delivered = await eventually(
            lambda: first_row(page), lambda r: r["status"] == "delivered", timeout=20
        )
        assert delivered["last"] == "200" and set(receiver.ids()) == {receiver.ids()[0]}
        assert len(receiver.received) == 4 and receiver.of_type("webhook.test")
        assert await page.get_by_role("button", name=re.compile(r"^Redeliver")).count() == 0
        await audit.page(page, "webhook-deliveries-delivered")

        await WebhookStore(system.redis).disable(app.client_id, int(time.time()))  # 5 days of failures
        await page.reload()
        notice = await page.locator("#webhook-disabled").inner_text()
        assert "Webhooks to this URL are disabled" in notice
        await audit.page(page, "webhook-disabled")
        await page.get_by_role("button", name="Enable").click()
        await page.get_by_text("Webhooks are enabled again").wait_for()
        assert await page.locator("#webhook-disabled").count() == 0
    finally:
        await context.close()
        await receiver.close()
        audit.report("axe-report-webhook-deliveries.json")
    watch.assert_clean()
    assert audit.failures() == []
