"""Registering a public app (RFC 6749 §2.1): the Client type control of the developer form, the app page
and the credentials view without a secret, the JSON API's ``client_type`` (fixed at registration) and
the RFC 8252 §7 redirect URI rules with their field errors."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from services.gateway.developer.api_io import CLIENT_TYPE_FIXED
from shared.errors import InvalidClient
from shared.messages.registry import AccountView
from shared.registry_client import RegistryClient
from tests.e2e.test_apps_api import call
from tests.e2e.test_developer_apps import APPS, app_form, dev, page, register, submit
from tests.support.factories import code_by_id, csrf_of, field_errors
from tests.support.system import System

__all__ = ["dev"]  # the signed-in developer fixture, shared with the developer-pages tests

API = "/api/v1/oauth-apps"
NATIVE: dict[str, Any] = {
    "name": "Meetings CLI",
    "homepage_url": "https://cli.example",
    "redirect_uris": "http://127.0.0.1/callback\ncom.example.meetings:/oauth/callback",
    "scopes": ["meetings:read"],
}


async def test_the_form_offers_the_client_type_with_confidential_by_default(
    system: System, dev: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    http, _ = dev
    _, html = await page(http, system, APPS + "/new")
    assert "<legend>Client type" in html
    assert 'id="client_type-confidential" name="client_type" value="confidential" checked' in html
    assert 'id="client_type-public" name="client_type" value="public">' in html
    for words in ("Confidential", "a web server that can keep a secret", "Public",
                  "a desktop, mobile, command-line or browser app"):  # fmt: skip
        assert words in html


async def test_a_public_app_is_registered_without_a_secret(
    system: System, dev: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    http, _ = dev
    status, html = await register(http, system, {**NATIVE, "client_type": "public"})
    assert status == 303, field_errors(html)
    client_id = code_by_id(html)["client-id"]
    assert "client-secret" not in html and "This is a public app" in html and "no client secret" not in html
    assert "it cannot keep a\n    secret, so Mavio gives it none" in html
    status, detail = await page(http, system, f"{APPS}/{client_id}")
    assert status == 200 and 'id="app-client-type">Public' in detail
    assert "Regenerate client secret" not in detail and "Required (S256), always for a public app" in detail
    status, edit = await page(http, system, f"{APPS}/{client_id}/edit")
    assert status == 200 and 'name="client_type"' not in edit and "it cannot be changed" in edit
    for path in (f"{APPS}/{client_id}/secret",):
        status, _ = await page(http, system, path)
        assert status == 303  # no secret to regenerate: to the credentials view
    status, again = await page(http, system, f"{APPS}/{client_id}/credentials")
    assert status == 200 and "This is a public app" in again  # says so every time
    app = await RegistryClient(system.bus).get_app(client_id)
    assert app.client_type == "public"
    assert app.redirect_uris == ["http://127.0.0.1/callback", "com.example.meetings:/oauth/callback"]
    with pytest.raises(InvalidClient):
        await RegistryClient(system.bus).verify_client(client_id, "any-secret")
    assert (await RegistryClient(system.bus).verify_client(client_id, "")).client_id == client_id


async def test_the_form_shows_redirect_rules_per_client_type(
    system: System, dev: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    http, _ = dev
    status, html = await register(http, system, {**NATIVE, "redirect_uris": "myapp:/callback"})
    assert status == 400  # confidential (the default): no private-use scheme at all
    assert "the myapp: scheme is not allowed" in field_errors(html)["redirect_uris"]
    public = {**NATIVE, "client_type": "public", "redirect_uris": "myapp:/callback\nhttp://cli.example/cb"}
    status, html = await register(http, system, public)
    errors = field_errors(html)
    assert status == 400 and "reverse-domain form" in errors["redirect_uris"]
    assert "Redirect URI 2 (http://cli.example/cb) must use https" in errors["redirect_uris"]
    assert 'value="public" checked' in html  # the choice is kept on the refused form
    _, form_html = await page(http, system, APPS + "/new")
    status, html, _ = await submit(
        http, system, APPS, app_form(csrf_of(form_html), {**NATIVE, "client_type": "secretive"})
    )
    assert status == 400 and field_errors(html)["client_type"].startswith("Client type must be one of")


async def test_the_api_registers_a_public_app_and_keeps_its_type(
    system: System, dev: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    http, _ = dev
    body = {**NATIVE, "redirect_uris": NATIVE["redirect_uris"].split("\n"), "client_type": "public"}
    status, created = await call(http, system, "POST", API, body)
    assert status == 201, created
    assert created["client_type"] == "public" and created["client_secret"] is None
    client_id = created["client_id"]
    status, got = await call(http, system, "GET", f"{API}/{client_id}")
    assert status == 200 and got["client_type"] == "public"
    for change in ("confidential", "public"):
        status, refused = await call(http, system, "PATCH", f"{API}/{client_id}", {"client_type": change})
        assert status == 400 and refused["error"] == "validation_failed"
        assert refused["fields"] == {"client_type": CLIENT_TYPE_FIXED}
        assert "cannot be changed" in CLIENT_TYPE_FIXED
    status, refused = await call(http, system, "POST", f"{API}/{client_id}/secret")
    assert status == 400 and "public app has no client secret" in refused["fields"]["client_type"]
    status, edited = await call(http, system, "PATCH", f"{API}/{client_id}", {"description": "CLI"})
    assert status == 200 and edited["client_type"] == "public" and edited["description"] == "CLI"
    web = {**body, "name": "Web", "client_type": None, "redirect_uris": ["https://cli.example/cb"]}
    status, default = await call(http, system, "POST", API, web)
    assert status == 201 and default["client_type"] == "confidential" and default["client_secret"]


async def test_the_api_names_each_bad_public_redirect_uri(
    system: System, dev: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    http, _ = dev
    uris = ["javascript:alert(1)", "data:text/html,x", "file:///tmp/x", "com.example.app:/ok", "app:/cb"]
    body = {**NATIVE, "redirect_uris": uris, "client_type": "public"}
    status, refused = await call(http, system, "POST", API, body)
    assert status == 400
    message = refused["fields"]["redirect_uris"]
    for number, scheme in ((1, "javascript"), (2, "data"), (3, "file"), (5, "app")):
        assert f"Redirect URI {number} " in message and f"the {scheme}: scheme is not allowed" in message
    assert "Redirect URI 4" not in message
    status, refused = await call(http, system, "POST", API, {**body, "client_type": "native"})
    assert status == 400 and "client_type" in refused["fields"]
