"""PKCE per app (RFC 7636, RFC 9700 §2.1.1): the "Require PKCE" setting through the developer form, the
app page and the JSON API, and the authorization endpoint refusing a request without ``code_challenge``."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp
import pytest

from shared.messages.registry import AccountView
from shared.registry_client import RegistryClient
from tests.support.authorize_flow import CB, CHALLENGE, flow
from tests.support.factories import code_by_id, csrf_of, signed_in_client
from tests.support.system import System
from tests.support.token_flow import consent_code, exchange, new_party

APPS = "/settings/developer/oauth-apps"
API = "/api/v1/oauth-apps"
APP = {
    "name": "Strict App",
    "homepage_url": "https://strict.example",
    "redirect_uris": ["https://strict.example/cb"],
    "scopes": ["meetings:read"],
}


@pytest.fixture
async def dev(system: System) -> AsyncIterator[tuple[aiohttp.ClientSession, AccountView]]:
    http, account = await signed_in_client(system)
    yield http, account
    await http.close()


async def text(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(url, allow_redirects=False) as resp:
        assert resp.status == 200, resp.status
        return await resp.text()


async def test_an_app_that_requires_pkce_refuses_requests_without_a_challenge(system: System) -> None:
    async with flow(system, require_pkce=True) as f:
        answer = await f.get(code_challenge=None, code_challenge_method=None)
        assert answer.status == 302 and answer.location.startswith(CB + "&error=invalid_request")
        got = answer.redirect_params()
        assert "requires PKCE" in got["error_description"] and got["state"] == "st-1"
        assert "code" not in got
        empty = await f.get(code_challenge="", code_challenge_method="")
        assert empty.redirect_params()["error"] == "invalid_request"
        page = await f.consent()  # with a challenge: the consent page, then a code bound to it
        await f.decide(page)
        [(_, _, record)] = await f.codes()
        assert record.code_challenge == CHALLENGE


async def test_pkce_stays_optional_by_default(system: System) -> None:
    party = await new_party(system)
    assert party.app.require_pkce is False
    status, _, body = await exchange(system, party, await consent_code(system, party))
    assert status == 200, body  # the documented flow, without PKCE


async def test_the_form_offers_it_recommended_and_the_app_page_shows_it(
    system: System, dev: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    http, _ = dev
    html = await text(http, system.url(APPS + "/new"))
    assert 'name="require_pkce"' in html and "Require PKCE" in html and "Recommended" in html
    assert not re.search(r'name="require_pkce"[^>]*checked', html)  # off by default
    form = aiohttp.FormData(default_to_multipart=True)
    form.add_field("csrf_token", csrf_of(html))
    for key, value in {**APP, "redirect_uris": APP["redirect_uris"][0], "require_pkce": "on"}.items():
        for one in value if isinstance(value, list) else [value]:
            form.add_field(key, one)
    async with http.post(system.url(APPS), data=form, allow_redirects=False) as resp:
        assert resp.status == 303  # to the one-time credentials view
        view = resp.headers["Location"]
    client_id = code_by_id(await text(http, system.url(view)))["client-id"]
    detail = await text(http, system.url(f"{APPS}/{client_id}"))
    assert re.search(r'id="app-pkce">Required', detail)
    edit = await text(http, system.url(f"{APPS}/{client_id}/edit"))
    assert re.search(r'name="require_pkce"[^>]*checked', edit)
    assert (await RegistryClient(system.bus).get_app(client_id)).require_pkce is True


async def test_the_json_api_shows_and_changes_it(
    system: System, dev: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    http, _ = dev
    async with http.post(system.url(API), json={**APP, "name": "Api Strict"}) as resp:
        assert resp.status == 201
        created = await resp.json()
    assert created["require_pkce"] is False
    url = system.url(f"{API}/{created['client_id']}")
    async with http.patch(url, json={"require_pkce": True}) as resp:
        assert resp.status == 200 and (await resp.json())["require_pkce"] is True
    async with http.get(url) as resp:
        assert (await resp.json())["require_pkce"] is True
    async with http.patch(url, json={"name": "Api Strict 2"}) as resp:  # other edits keep it
        assert (await resp.json())["require_pkce"] is True
    async with http.patch(url, json={"require_pkce": "yes"}) as resp:
        assert resp.status == 400 and "require_pkce" in (await resp.json())["fields"]
