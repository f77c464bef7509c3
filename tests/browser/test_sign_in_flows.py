"""The sign-in and consent flows as people meet them: each walk starts in a fresh Chromium context
(signed out, no cookies) at the app's authorization URL and ends at the client's redirect URI (a
callback server on a loopback port). A Content Security Policy violation or a page error anywhere
fails the walk (``console_watch``): Chromium applies ``form-action`` to every hop of the redirect
chain after a form submission, which no HTTP client checks.

The walks: signed out + first consent; signed out + remembered consent (the sign-in answers 303 to
``/oauth/authorize``, which answers 302 straight to the client); ``prompt=consent``; a wrong password
first; Deny.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from shared.messages.registry import AccountView, AppView
from tests.browser.client_site import ClientSite, client_site
from tests.browser.console_watch import ConsoleWatch
from tests.support.authorize_flow import CHALLENGE, VERIFIER
from tests.support.factories import DEFAULT_PASSWORD, create_account, create_app
from tests.support.system import System
from tests.support.token_flow import Party, exchange

pytestmark = pytest.mark.browser

SCOPES = ("meetings:read", "transcripts:read")


@dataclass
class Walk:
    """One app with a loopback redirect URI, one user, and the console watch of every context."""

    system: System
    browser: Any
    client: ClientSite
    party: Party
    watch: ConsoleWatch

    @property
    def app(self) -> AppView:
        return self.party.app

    @property
    def user(self) -> AccountView:
        return self.party.user

    def authorize_url(self, state: str, **extra: str) -> str:
        query = {"response_type": "code", "client_id": self.app.client_id, "redirect_uri": self.client.url,
                 "scope": " ".join(SCOPES), "state": state, "code_challenge": CHALLENGE,
                 "code_challenge_method": "S256", **extra}  # fmt: skip
        return self.system.url("/oauth/authorize?" + urlencode(query))

    async def signed_out_page(self) -> Any:
        """A page in a fresh context: a new browser, nobody signed in."""
        context = await self.watch.new_context(self.browser)
        page = await context.new_page()
        page.set_default_timeout(15_000)
        return page

    async def open_and_sign_in(self, page: Any, state: str, **extra: str) -> None:
        await page.goto(self.authorize_url(state, **extra))
        assert urlsplit(page.url).path == "/login"
        await page.get_by_text(f"{self.app.name} is asking to use your Mavio account").wait_for()
        await self.sign_in(page, DEFAULT_PASSWORD)

    async def sign_in(self, page: Any, password: str) -> None:
        await page.get_by_label("Email").fill(self.user.email)
        await page.get_by_label("Password").fill(password)
        await page.get_by_role("button", name="Sign in and continue").click()

    async def at_client(self, page: Any) -> dict[str, str]:
        """Wait until the browser is at the client's redirect URI: the query it brought."""
        await self.watch.wait_for_url(page, self.client.url + "?*")
        got = dict(parse_qsl(urlsplit(page.url).query))
        assert self.client.received[-1] == got
        return got

    async def redeem(self, code: str) -> None:
        status, _, body = await exchange(self.system, self.party, code, code_verifier=VERIFIER)
        assert status == 200 and body["scope"].split() == list(SCOPES), body

    async def first_consent(self, state: str) -> dict[str, str]:
        """Signed out, never authorized: sign in, see the consent page, Authorize."""
        page = await self.signed_out_page()
        await self.open_and_sign_in(page, state)
        await page.get_by_role("heading", name=f"Authorize {self.app.name}").wait_for()
        for name in SCOPES:
            assert await page.get_by_role("checkbox", name=name).is_checked()
        await page.get_by_role("button", name="Authorize").click()
        got = await self.at_client(page)
        await page.context.close()
        return got


@pytest.fixture
async def walk(system: System, chromium: Any) -> AsyncIterator[Walk]:
    owner = await create_account(system, name="Walk Owner")
    user = await create_account(system, name="Walk User")
    async with client_site() as client:
        app, secret = await create_app(
            system, owner, name="Walk Notes", redirect_uris=[client.url], scopes=list(SCOPES)
        )
        yield Walk(system, chromium, client, Party(app, secret, user, owner), ConsoleWatch())


async def test_signed_out_first_consent_lands_on_the_client_with_a_code(walk: Walk) -> None:
    got = await walk.first_consent("first")
    assert got["state"] == "first" and got["code"].startswith("mavio_code_")
    await walk.redeem(got["code"])
    walk.watch.assert_clean()


async def test_signed_out_with_remembered_consent_goes_from_sign_in_straight_to_the_client(
    walk: Walk,
) -> None:
    await walk.redeem((await walk.first_consent("earlier"))["code"])
    page = await walk.signed_out_page()  # another browser: signed out, consent remembered
    await walk.open_and_sign_in(page, "again")
    got = await walk.at_client(page)
    assert got["state"] == "again" and got["code"].startswith("mavio_code_")
    await walk.redeem(got["code"])
    walk.watch.assert_clean()


async def test_prompt_consent_asks_again_after_sign_in(walk: Walk) -> None:
    await walk.redeem((await walk.first_consent("earlier"))["code"])
    page = await walk.signed_out_page()
    await walk.open_and_sign_in(page, "asked", prompt="consent")
    await page.get_by_role("heading", name=f"Authorize {walk.app.name}").wait_for()
    assert await page.locator("#remembered-scopes").count() == 0
    for name in SCOPES:
        assert await page.get_by_role("checkbox", name=name).is_checked()
    await page.get_by_role("button", name="Authorize").click()
    got = await walk.at_client(page)
    assert got["state"] == "asked" and got["code"].startswith("mavio_code_")
    walk.watch.assert_clean()


async def test_a_wrong_password_first_then_the_right_one_continues_to_the_client(walk: Walk) -> None:
    await walk.redeem((await walk.first_consent("earlier"))["code"])
    page = await walk.signed_out_page()
    await page.goto(walk.authorize_url("retried"))
    await walk.sign_in(page, "not the password")
    await page.get_by_text("Incorrect email or password.").wait_for()
    assert urlsplit(page.url).path == "/login" and len(walk.client.received) == 1
    await walk.sign_in(page, DEFAULT_PASSWORD)
    got = await walk.at_client(page)
    assert got["state"] == "retried" and got["code"].startswith("mavio_code_")
    walk.watch.assert_clean()


async def test_deny_after_sign_in_lands_on_the_client_with_access_denied(walk: Walk) -> None:
    page = await walk.signed_out_page()
    await walk.open_and_sign_in(page, "no-thanks")
    await page.get_by_role("button", name="Deny").click()
    got = await walk.at_client(page)
    assert got["error"] == "access_denied" and got["state"] == "no-thanks" and "code" not in got
    walk.watch.assert_clean()
