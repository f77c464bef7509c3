"""The console watch can fail: a form whose answer redirects off-site, blocked by ``form-action``
(the redirect hop, as in the sign-in defect), and an uncaught script error are both reported, and a
wait for the page the blocked form would have reached names the violation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.console_watch import ConsoleWatch

pytestmark = pytest.mark.browser

SITE = "http://watched.test/"
ELSEWHERE = "http://elsewhere.test/"
BLOCKED_FORM = (
    "<!doctype html><html lang='en'><title>Form</title>"
    "<form method='post' action='/send'><button>Send</button></form></html>"
)
THROWING = "<!doctype html><html lang='en'><title>Boom</title><script>throw new Error('boom')</script></html>"


async def serve(route: Any) -> None:
    if route.request.url.endswith("/boom"):
        await route.fulfill(status=200, content_type="text/html", body=THROWING)
    elif route.request.url.endswith("/send"):  # the form's answer redirects off-site: a blocked hop
        await route.fulfill(status=303, headers={"Location": ELSEWHERE})
    else:
        csp = {"Content-Security-Policy": "form-action 'self'"}
        await route.fulfill(status=200, content_type="text/html", body=BLOCKED_FORM, headers=csp)


async def test_a_blocked_form_and_a_page_error_are_reported(chromium: Any) -> None:
    watch = ConsoleWatch()
    context = await watch.new_context(chromium)
    try:
        await context.route(SITE + "**", serve)
        await context.route(ELSEWHERE + "**", lambda route: route.fulfill(status=200, body="sent"))
        page = await context.new_page()
        await page.goto(SITE)
        await page.get_by_role("button", name="Send").click()
        assert "form-action" in await watch.wait_for_problem("CSP violation")
        with pytest.raises(AssertionError, match="form-action"):  # blocked: it never gets there
            await watch.wait_for_url(page, ELSEWHERE, timeout=1_000)
        await page.goto(SITE + "boom")
        assert "boom" in await watch.wait_for_problem("page error")
        with pytest.raises(AssertionError, match="CSP violation"):
            watch.assert_clean()
    finally:
        await context.close()
