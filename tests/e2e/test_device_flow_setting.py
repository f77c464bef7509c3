"""The app field **Enable device flow** (``device_flow``, RFC 8628): off by default, offered by the
developer form, shown on the app page, read and changed by the JSON API, and obeyed at once by
``/oauth/device_authorization`` (an app without it: ``unauthorized_client``)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator

import aiohttp
import pytest

from shared.messages.registry import AccountView
from shared.registry_client import RegistryClient

# The Require PKCE tests' paths and page reader.
from tests.e2e.test_require_pkce import API, APPS, text
from tests.support.device_flow import start
from tests.support.factories import code_by_id, csrf_of, signed_in_client
from tests.support.polling import until
from tests.support.system import System
from tests.support.token_flow import Party

APP = {
    "name": "Room Panel",
    "homepage_url": "https://panel.example",
    "redirect_uris": ["https://panel.example/cb"],
    "scopes": ["meetings:read"],
}


@pytest.fixture
async def developer(system: System) -> AsyncIterator[tuple[aiohttp.ClientSession, AccountView]]:
    async with contextlib.AsyncExitStack() as stack:
        http, account = await signed_in_client(system)
        stack.push_async_callback(http.close)
        yield http, account


async def test_the_form_offers_it_off_and_the_app_page_shows_it(
    system: System, developer: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    http, _ = developer
    html = await text(http, system.url(APPS + "/new"))
    assert 'name="device_flow"' in html and "Enable device flow" in html
    assert not re.search(r'name="device_flow"[^>]*checked', html)  # off by default
    form = aiohttp.FormData(default_to_multipart=True)
    form.add_field("csrf_token", csrf_of(html))
    for key, value in {**APP, "redirect_uris": APP["redirect_uris"][0], "device_flow": "on"}.items():
        for one in value if isinstance(value, list) else [value]:
            form.add_field(key, one)
    async with http.post(system.url(APPS), data=form, allow_redirects=False) as resp:
        assert resp.status == 303
        view = resp.headers["Location"]
    client_id = code_by_id(await text(http, system.url(view)))["client-id"]
    detail = await text(http, system.url(f"{APPS}/{client_id}"))
    assert re.search(r'id="app-device-flow">Enabled<', detail)
    edit = await text(http, system.url(f"{APPS}/{client_id}/edit"))
    assert re.search(r'name="device_flow"[^>]*checked', edit)
    assert (await RegistryClient(system.bus).get_app(client_id)).device_flow is True


async def test_the_json_api_shows_and_changes_it_and_the_endpoint_obeys(
    system: System, developer: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    http, account = developer
    async with http.post(system.url(API), json=APP) as resp:
        assert resp.status == 201
        created = await resp.json()
    assert created["device_flow"] is False
    registry = RegistryClient(system.bus)
    party = Party(await registry.get_app(created["client_id"]), created["client_secret"], account, account)
    status, body = await start(system, party)
    assert (status, body["error"]) == (400, "unauthorized_client")
    url = system.url(f"{API}/{created['client_id']}")
    async with http.patch(url, json={"device_flow": True}) as resp:
        assert resp.status == 200 and (await resp.json())["device_flow"] is True
    async with http.get(url) as resp:
        assert (await resp.json())["device_flow"] is True

    async def enabled() -> bool:  # the token service's app cache hears the change
        return (await start(system, party))[0] == 200

    await until("the device flow is enabled at the endpoint", enabled, timeout=10)
    async with http.patch(url, json={"device_flow": "yes"}) as resp:
        assert resp.status == 400 and "device_flow" in (await resp.json())["fields"]
