"""Settings > Developer > OAuth Apps through the gateway: registration with the secret shown once,
every validation rule shown inline with nothing saved, editing, logos, the owner check and CSRF."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from shared.errors import NotFound
from shared.messages.registry import AccountView
from shared.registry_client import RegistryClient
from tests.support.factories import (
    code_by_id,
    create_app,
    csrf_of,
    field_errors,
    image_bytes,
    png_declaring,
    png_padded_to,
    signed_in_client,
)
from tests.support.system import System

APPS = "/settings/developer/oauth-apps"
GOOD: dict[str, Any] = {
    "name": "Notes Sync",
    "description": "Syncs meeting notes",
    "homepage_url": "https://notes.example",
    "redirect_uris": "https://notes.example/callback\nhttp://127.0.0.1:8765/cb",
    "scopes": ["meetings:read", "users:read"],
}


@pytest.fixture
async def dev(system: System) -> AsyncIterator[tuple[aiohttp.ClientSession, AccountView]]:
    http, account = await signed_in_client(system)
    yield http, account
    await http.close()


def app_form(csrf: str, values: dict[str, Any], logo: tuple[str, bytes] | None = None) -> aiohttp.FormData:
    form = aiohttp.FormData(default_to_multipart=True)
    form.add_field("csrf_token", csrf)
    for key, value in values.items():
        for one in value if isinstance(value, list) else [value]:
            form.add_field(key, one)
    if logo is not None:
        form.add_field("logo", logo[1], filename=logo[0], content_type="application/octet-stream")
    return form


async def page(http: aiohttp.ClientSession, system: System, path: str) -> tuple[int, str]:
    async with http.get(system.url(path), allow_redirects=False) as resp:
        return resp.status, await resp.text()


async def submit(
    http: aiohttp.ClientSession, system: System, path: str, data: aiohttp.FormData | dict[str, Any]
) -> tuple[int, str, aiohttp.ClientResponse]:
    async with http.post(system.url(path), data=data, allow_redirects=False) as resp:
        return resp.status, await resp.text(), resp


async def register(
    http: aiohttp.ClientSession, system: System, values: dict[str, Any], logo: tuple[str, bytes] | None = None
) -> tuple[int, str]:
    """Submit the form; a registration (303) is followed to its one-time credentials view."""
    _, html = await page(http, system, APPS + "/new")
    status, body, resp = await submit(http, system, APPS, app_form(csrf_of(html), values, logo))
    if status == 303:
        view_status, body = await page(http, system, resp.headers["Location"])
        assert view_status == 200, body[:300]
    return status, body


async def test_signed_out_visitors_are_sent_to_sign_in(system: System) -> None:
    async with aiohttp.ClientSession() as anon:
        for path in (APPS, APPS + "/new"):
            async with anon.get(system.url(path), allow_redirects=False) as resp:
                assert resp.status in (302, 303)
                assert resp.headers["Location"].startswith("/login?next=")


async def test_register_shows_credentials_once(
    system: System, dev: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    http, account = dev
    status, html = await page(http, system, APPS)
    assert status == 200 and "Register New App" in html and "Sign out" in html
    _, form_html = await page(http, system, APPS + "/new")
    for label in ("App name", "Description", "Homepage URL", "Redirect URIs", "Logo", "Register app"):
        assert label in form_html
    status, html = await register(http, system, GOOD, logo=("logo.png", image_bytes("PNG", (600, 300))))
    assert status == 303, field_errors(html)
    codes = code_by_id(html)
    client_id, secret = codes["client-id"], codes["client-secret"]
    assert client_id.startswith("mavio_client_") and len(client_id) >= len("mavio_client_") + 12
    assert "shown only once" in html
    verified = await RegistryClient(system.bus).verify_client(client_id, secret)
    assert verified.owner_id == account.id and verified.has_logo
    assert verified.redirect_uris == ["https://notes.example/callback", "http://127.0.0.1:8765/cb"]
    for path in (APPS, f"{APPS}/{client_id}", f"{APPS}/{client_id}/edit"):
        status, html = await page(http, system, path)
        assert status == 200 and client_id in html
        assert secret not in html and "client-secret" not in html


async def test_logo_is_served_as_small_png_with_nosniff(
    system: System, dev: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    from io import BytesIO

    from PIL import Image

    http, _ = dev
    status, html = await register(http, system, GOOD, logo=("logo.jpg", image_bytes("JPEG", (1024, 512))))
    assert status == 303
    client_id = code_by_id(html)["client-id"]
    async with aiohttp.ClientSession() as anon:
        async with anon.get(system.url(f"/oauth/apps/{client_id}/logo.png")) as resp:
            data = await resp.read()
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "image/png"
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
            assert "max-age" in resp.headers["Cache-Control"]
            etag = resp.headers["ETag"]
        async with anon.get(
            system.url(f"/oauth/apps/{client_id}/logo.png"), headers={"If-None-Match": etag}
        ) as resp:
            assert resp.status == 304
        async with anon.get(system.url("/oauth/apps/mavio_client_0000000000000000/logo.png")) as resp:
            assert resp.status == 404
    assert Image.open(BytesIO(data)).size == (256, 128)


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"name": ""}, "name", "required"),
        ({"name": "x" * 65}, "name", "at most 64"),
        ({"description": "d" * 501}, "description", "at most 500"),
        ({"homepage_url": ""}, "homepage_url", "required"),
        ({"homepage_url": "notes.example"}, "homepage_url", "absolute"),
        ({"homepage_url": "javascript:alert(1)"}, "homepage_url", "scheme is not allowed"),
        ({"redirect_uris": ""}, "redirect_uris", "at least one"),
        (
            {"redirect_uris": "\n".join(f"https://n.example/{i}" for i in range(11))},
            "redirect_uris",
            "At most 10",
        ),
        ({"redirect_uris": "/callback"}, "redirect_uris", "absolute"),
        ({"redirect_uris": "https://n.example/cb#section"}, "redirect_uris", "fragment"),
        ({"redirect_uris": "https://*.n.example/cb"}, "redirect_uris", "wildcard"),
        ({"redirect_uris": "custom-scheme:/cb"}, "redirect_uris", "scheme is not allowed"),
        ({"scopes": []}, "scopes", "at least one"),
        ({"scopes": ["meetings:read", "admin:all"]}, "scopes", "Unknown scope"),
    ],
)
async def test_each_rule_is_shown_inline_and_nothing_is_saved(
    system: System,
    dev: tuple[aiohttp.ClientSession, AccountView],
    change: dict[str, Any],
    field: str,
    fragment: str,
) -> None:
    http, account = dev
    values = {**GOOD, **change}
    status, html = await register(http, system, values)
    assert status == 400
    errors = field_errors(html)
    assert set(errors) == {field}, errors
    assert fragment.lower() in errors[field].lower()
    assert 'value="Notes Sync"' in html or change.get("name") is not None  # entered values are kept
    assert await RegistryClient(system.bus).list_apps(account.id) == []


@pytest.mark.parametrize(
    ("logo", "fragment"),
    [
        (
            ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'),
            "PNG, JPEG, GIF or WebP",
        ),
        (("logo.png", b"this is not an image at all"), "PNG, JPEG, GIF or WebP"),
        (("bomb.png", png_declaring(20_000, 20_000)), "too large"),
        (("big.png", png_padded_to(1_048_577)), "at most 1 MiB"),
        (("huge.png", png_padded_to(2 * 1_048_576 + 10)), "at most 1 MiB"),
    ],
)
async def test_bad_logos_are_shown_inline_with_other_errors(
    system: System, dev: tuple[aiohttp.ClientSession, AccountView], logo: tuple[str, bytes], fragment: str
) -> None:
    http, account = dev
    status, html = await register(http, system, {**GOOD, "scopes": []}, logo=logo)
    assert status == 400
    errors = field_errors(html)
    assert set(errors) == {"logo", "scopes"}
    assert fragment in errors["logo"]
    assert await RegistryClient(system.bus).list_apps(account.id) == []


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
async def test_each_logo_format_is_accepted(
    system: System, dev: tuple[aiohttp.ClientSession, AccountView], fmt: str
) -> None:
    http, _ = dev
    status, html = await register(
        http, system, {**GOOD, "name": f"Logo {fmt}"}, logo=(f"l.{fmt}", image_bytes(fmt))
    )
    assert status == 303, field_errors(html)


async def test_duplicate_redirect_uris_are_saved_once_and_loopback_http_is_allowed(
    system: System, dev: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    http, _ = dev
    uris = "http://localhost:3000/cb\n\nhttp://[::1]:4000/cb\nhttp://localhost:3000/cb\n"
    status, html = await register(http, system, {**GOOD, "redirect_uris": uris})
    assert status == 303, field_errors(html)
    view = await RegistryClient(system.bus).get_app(code_by_id(html)["client-id"])
    assert view.redirect_uris == ["http://localhost:3000/cb", "http://[::1]:4000/cb"]


async def test_a_name_already_used_by_the_owner_is_an_inline_conflict(
    system: System, dev: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    http, account = dev
    await create_app(system, account, name="Notes Sync")
    status, html = await register(http, system, {**GOOD, "name": "notes sync"})
    assert status == 409
    assert set(field_errors(html)) == {"name"}
    assert len(await RegistryClient(system.bus).list_apps(account.id)) == 1


async def test_edit_saves_changes_and_can_remove_the_logo(
    system: System, dev: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    http, account = dev
    app, _ = await create_app(system, account, logo=image_bytes("PNG"))
    edit = f"{APPS}/{app.client_id}/edit"
    status, html = await page(http, system, edit)
    assert status == 200 and "Save changes" in html and "Remove logo" in html and 'value="Your App"' in html
    values = {**GOOD, "name": "Renamed", "redirect_uris": "https://new.example/cb", "remove_logo": "on"}
    status, _, resp = await submit(http, system, edit, app_form(csrf_of(html), values))
    assert status == 303 and resp.headers["Location"] == f"{APPS}/{app.client_id}?notice=saved"
    view = await RegistryClient(system.bus).get_app(app.client_id)
    assert (view.name, view.redirect_uris, view.has_logo) == ("Renamed", ["https://new.example/cb"], False)
    async with http.get(system.url(f"/oauth/apps/{app.client_id}/logo.png")) as resp:
        assert resp.status == 404


async def test_the_form_chooses_the_id_token_algorithm(
    system: System, dev: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    http, account = dev
    app, _ = await create_app(system, account)
    edit = f"{APPS}/{app.client_id}/edit"
    status, html = await page(http, system, edit)
    assert status == 200 and '<option value="RS256" selected>' in html
    values = {**GOOD, "id_token_signed_response_alg": "ES256"}
    status, _, _ = await submit(http, system, edit, app_form(csrf_of(html), values))
    assert status == 303
    assert (await RegistryClient(system.bus).get_app(app.client_id)).id_token_signed_response_alg == "ES256"
    status, html = await page(http, system, f"{APPS}/{app.client_id}")
    assert '<dd id="app-id-token-alg">ES256</dd>' in html
    _, html = await page(http, system, edit)
    status, body, _ = await submit(
        http, system, edit, app_form(csrf_of(html), {**GOOD, "id_token_signed_response_alg": "HS256"})
    )
    assert status == 400 and "ID token algorithm must be one of RS256, ES256" in body


async def test_edit_errors_are_inline_and_nothing_changes(
    system: System, dev: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    http, account = dev
    app, _ = await create_app(system, account)
    edit = f"{APPS}/{app.client_id}/edit"
    _, html = await page(http, system, edit)
    values = {**GOOD, "name": "Changed", "homepage_url": "ftp://x.example", "redirect_uris": "https://x/#f"}
    status, html, _ = await submit(http, system, edit, app_form(csrf_of(html), values, ("l.png", b"nope")))
    assert status == 400
    assert set(field_errors(html)) == {"homepage_url", "redirect_uris", "logo"}
    assert 'value="Changed"' in html
    assert await RegistryClient(system.bus).get_app(app.client_id) == app


async def test_another_user_gets_404_on_every_page_and_action(
    system: System, dev: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    _, account = dev
    app, secret = await create_app(system, account)
    intruder, _ = await signed_in_client(system)
    try:
        _, own_html = await page(intruder, system, APPS)
        token = csrf_of(own_html)
        assert app.client_id not in own_html
        base = f"{APPS}/{app.client_id}"
        for path in (base, base + "/edit", base + "/secret", base + "/revoke", base + "/delete"):
            status, html = await page(intruder, system, path)
            assert status == 404, path
            assert app.name not in html
        posts = {
            base + "/edit": app_form(token, {**GOOD, "name": "Hijacked"}),
            base + "/secret": {"csrf_token": token, "keep_old": "0"},
            base + "/revoke": {"csrf_token": token},
            base + "/delete": {"csrf_token": token, "confirm_name": app.name},
        }
        for path, data in posts.items():
            status, _, _ = await submit(intruder, system, path, data)
            assert status == 404, path
    finally:
        await intruder.close()
    registry = RegistryClient(system.bus)
    assert await registry.get_app(app.client_id) == app
    await registry.verify_client(app.client_id, secret)  # the secret was not regenerated


async def test_forms_without_the_csrf_token_change_nothing(
    system: System, dev: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    http, account = dev
    app, secret = await create_app(system, account)
    base = f"{APPS}/{app.client_id}"
    for token in (None, "forged-token", ""):
        posts = {
            APPS: app_form(token or "", {**GOOD, "name": "Sneaky"}),
            base + "/edit": app_form(token or "", {**GOOD, "name": "Sneaky"}),
            base + "/secret": {"keep_old": "0", **({"csrf_token": token} if token is not None else {})},
            base + "/revoke": {**({"csrf_token": token} if token is not None else {})},
            base + "/delete": {
                "confirm_name": app.name,
                **({"csrf_token": token} if token is not None else {}),
            },
        }
        for path, data in posts.items():
            status, _, _ = await submit(http, system, path, data)
            assert status == 403, (path, token)
    registry = RegistryClient(system.bus)
    assert [a.client_id for a in await registry.list_apps(account.id)] == [app.client_id]
    assert await registry.get_app(app.client_id) == app
    await registry.verify_client(app.client_id, secret)


async def test_deleted_app_pages_are_404(
    system: System, dev: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    http, account = dev
    app, _ = await create_app(system, account)
    await RegistryClient(system.bus).delete_app(account.id, app.client_id)
    status, _ = await page(http, system, f"{APPS}/{app.client_id}")
    assert status == 404
    with pytest.raises(NotFound):
        await RegistryClient(system.bus).get_app(app.client_id)


async def test_pages_are_not_cached_or_framed(
    system: System, dev: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    http, account = dev
    app, _ = await create_app(system, account)
    base = f"{APPS}/{app.client_id}"
    for path in (
        APPS,
        APPS + "/new",
        base,
        base + "/edit",
        base + "/secret",
        base + "/revoke",
        base + "/delete",
    ):
        async with http.get(system.url(path)) as resp:
            assert resp.status == 200, path
            assert resp.headers["Cache-Control"] == "no-store", path
            assert resp.headers["X-Frame-Options"] == "DENY", path
    _, html = await page(http, system, APPS + "/new")
    async with http.post(system.url(APPS), data=app_form(csrf_of(html), GOOD)) as resp:
        assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store"  # the credentials view
