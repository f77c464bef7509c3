"""The consent page in a real Chromium (Debian's, through Playwright: the ``chromium`` fixture).

Sign in from the authorization request, then the **Authorize** and **Deny** buttons land on the client's
redirect URI (a tiny callback server on a loopback port), through the page's CSP (``form-action``, which
Chromium also applies to the 303 redirect) and the 303 redirect itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from aiohttp import web

from services.stack.embedded import free_port
from tests.support.authorize_flow import CHALLENGE, codes_of
from tests.support.factories import DEFAULT_PASSWORD, create_account, create_app
from tests.support.system import System

pytestmark = pytest.mark.browser


@dataclass
class Callback:
    """The client's redirect endpoint: records every query it receives."""

    url: str
    received: list[dict[str, str]] = field(default_factory=list)


@pytest.fixture
async def callback() -> AsyncIterator[Callback]:
    port = free_port()
    cb = Callback(url=f"http://127.0.0.1:{port}/callback")

    async def handle(request: web.Request) -> web.Response:
        cb.received.append(dict(request.query))
        return web.Response(
            text="<!doctype html><title>Client</title><h1>Back at the client</h1>", content_type="text/html"
        )

    app = web.Application()
    app.router.add_get("/callback", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield cb
    await runner.cleanup()


def authorize_url(system: System, client_id: str, redirect_uri: str, state: str, **extra: str) -> str:
    query = {
        **extra,
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": "meetings:read transcripts:read",
        "state": state,
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }
    return system.url("/oauth/authorize?" + urlencode(query))


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


async def test_authorize_and_deny_buttons_land_on_the_client(
    system: System, callback: Callback, chromium: Any
) -> None:
    owner = await create_account(system, name="Olga Owner")
    app, _ = await create_app(system, owner, name="Browser Notes", redirect_uris=[callback.url])
    user = await create_account(system)
    context = await chromium.new_context()
    page = await context.new_page()
    blocked: list[str] = []
    page.on(
        "console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None
    )

    # Not signed in: the request leads to /login and back to the consent page.
    await page.goto(authorize_url(system, app.client_id, callback.url, "state-one"))
    assert urlsplit(page.url).path == "/login"
    await page.fill("#email", user.email)
    await page.fill("#password", DEFAULT_PASSWORD)
    await page.click("button:has-text('Sign in')")
    await page.wait_for_selector("text=Authorize Browser Notes")
    assert urlsplit(page.url).path == "/oauth/authorize"
    assert await page.is_checked("input[name=granted][value='meetings:read']")

    # Untick one scope, then Authorize: the client gets a code for the other one and the state.
    await page.uncheck("input[name=granted][value='meetings:read']")
    await page.click("button:has-text('Authorize')")
    await page.wait_for_url(callback.url + "?*")
    got = query_of(page.url)
    assert got["code"].startswith("mavio_code_") and got["state"] == "state-one"
    assert callback.received[-1] == got
    [(_, _, record)] = await codes_of(system, user.id)
    assert record.scope == "transcripts:read" and record.redirect_uri == callback.url

    # Signed in now: the consent page again, asking only for the scope not granted yet; this time Deny.
    await page.goto(authorize_url(system, app.client_id, callback.url, "state-two"))
    await page.wait_for_selector("text=Authorize Browser Notes")
    assert await page.locator("input[type=checkbox][name=granted]").count() == 1
    assert await page.is_checked("input[name=granted][value='meetings:read']")
    assert "transcripts:read" in await page.inner_text("#remembered-scopes")
    await page.click("button:has-text('Deny')")
    await page.wait_for_url(callback.url + "?*")
    got = query_of(page.url)
    assert got["error"] == "access_denied" and got["state"] == "state-two" and "code" not in got
    assert len(await codes_of(system, user.id)) == 1

    # Asked for everything again (prompt=consent), unticking everything keeps the user on the page.
    await page.goto(authorize_url(system, app.client_id, callback.url, "state-three", prompt="consent"))
    for name in ("meetings:read", "transcripts:read"):
        await page.uncheck(f"input[name=granted][value='{name}']")
    await page.click("button:has-text('Authorize')")
    await page.wait_for_selector("text=Tick at least one permission")
    assert urlsplit(page.url).path == "/oauth/authorize"
    assert len(callback.received) == 2 and len(await codes_of(system, user.id)) == 1
    assert blocked == []
    await context.close()


async def test_the_consent_page_refuses_to_be_framed(
    system: System, callback: Callback, chromium: Any
) -> None:
    owner = await create_account(system, name="Olga Owner")
    app, _ = await create_app(system, owner, name="Framed Notes", redirect_uris=[callback.url])
    user = await create_account(system)
    context = await chromium.new_context()
    page = await context.new_page()
    target = authorize_url(system, app.client_id, callback.url, "s")
    await page.goto(system.url("/login?next=/"))
    await page.fill("#email", user.email)
    await page.fill("#password", DEFAULT_PASSWORD)
    await page.click("button:has-text('Sign in')")
    await page.wait_for_load_state()
    # An attacker's page (another origin: the callback server's) frames the consent page.
    await page.goto(callback.url)
    await page.set_content(f'<iframe id="victim" src="{target}" width="600" height="400"></iframe>')
    await page.wait_for_timeout(1500)
    assert len(page.frames) == 2
    for frame in page.frames:
        assert "Authorize Framed Notes" not in await frame.content()
    await context.close()
