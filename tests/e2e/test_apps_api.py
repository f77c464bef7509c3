"""The OAuth apps JSON API (``/api/v1/oauth-apps``): session auth, JSON-only and same-origin
state changes, every validation rule as ``{"error", "fields"}``, 404 for other users' apps, 409 for
a reused name, the secret only in create/regenerate responses, logos, revoke and delete."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from shared.errors import InvalidClient, NotFound
from shared.messages.registry import AccountView
from shared.messages.revocation import RevokeAppRequest
from shared.registry_client import RegistryClient
from tests.support.factories import (
    RevocationStandIn,
    create_app,
    image_bytes,
    png_declaring,
    png_padded_to,
    signed_in_client,
)
from tests.support.system import System, start_system

API = "/api/v1/oauth-apps"
GOOD: dict[str, Any] = {
    "name": "API App",
    "description": "made over the API",
    "homepage_url": "https://api-app.example",
    "redirect_uris": ["https://api-app.example/cb", "https://api-app.example/cb"],
    "scopes": ["users:read", "meetings:read"],
}


@pytest.fixture(scope="module")
async def api_system() -> AsyncIterator[System]:
    """Registry and gateway only: revocation answers only through ``RevocationStandIn``."""
    sut = await start_system(services=("registry",))
    yield sut
    await sut.close()


@pytest.fixture
async def dev(api_system: System) -> AsyncIterator[tuple[aiohttp.ClientSession, AccountView]]:
    http, account = await signed_in_client(api_system)
    yield http, account
    await http.close()


async def call(
    http: aiohttp.ClientSession,
    system: System,
    method: str,
    path: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    data: Any = None,
) -> tuple[int, Any]:
    kwargs: dict[str, Any] = {"headers": headers or {}}
    if data is not None:
        kwargs["data"] = data
    elif body is not None or method in ("POST", "PATCH", "DELETE"):
        kwargs["json"] = body if body is not None else {}
    async with http.request(method, system.url(path), allow_redirects=False, **kwargs) as resp:
        payload = await resp.json() if resp.content_type == "application/json" else await resp.text()
        return resp.status, payload


async def test_the_api_needs_a_session(api_system: System) -> None:
    async with aiohttp.ClientSession() as anon:
        for method, path in [("GET", API), ("POST", API), ("GET", API + "/mavio_client_0000000000000000")]:
            status, body = await call(anon, api_system, method, path, GOOD if method == "POST" else None)
            assert status == 401 and body["error"] == "login_required"


async def test_create_returns_the_secret_once(
    api_system: System, dev: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    http, _ = dev
    status, created = await call(http, api_system, "POST", API, GOOD)
    assert status == 201, created
    secret = created["client_secret"]
    assert created["client_id"].startswith("mavio_client_") and secret.startswith("mavio_cs_")
    assert created["redirect_uris"] == ["https://api-app.example/cb"]
    assert created["scopes"] == ["meetings:read", "users:read"]  # catalog order
    assert "owner_id" not in created and created["logo_url"] is None
    await RegistryClient(api_system.bus).verify_client(created["client_id"], secret)
    status, listed = await call(http, api_system, "GET", API)
    assert status == 200 and [a["client_id"] for a in listed["apps"]] == [created["client_id"]]
    status, one = await call(http, api_system, "GET", f"{API}/{created['client_id']}")
    assert status == 200
    assert one["stats"]["active_authorizations"] == 0 and len(one["stats"]["api_calls_by_day"]) == 30
    assert secret not in str(listed) and secret not in str(one) and "client_secret" not in one


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "n" * 65}, "name"),
        ({"description": "d" * 501}, "description"),
        ({"homepage_url": "ftp://files.example"}, "homepage_url"),
        ({"homepage_url": "/relative"}, "homepage_url"),
        ({"redirect_uris": []}, "redirect_uris"),
        ({"redirect_uris": [f"https://a.example/{i}" for i in range(11)]}, "redirect_uris"),
        ({"redirect_uris": ["a.example/cb"]}, "redirect_uris"),
        ({"redirect_uris": ["https://a.example/cb#x"]}, "redirect_uris"),
        ({"redirect_uris": ["https://a.example/*"]}, "redirect_uris"),
        ({"scopes": []}, "scopes"),
        ({"scopes": ["users:read", "root"]}, "scopes"),
        ({"redirect_uris": "https://a.example/cb"}, "redirect_uris"),  # not a list
        ({"scopes": [1, 2]}, "scopes"),
        ({"client_secret": "mine"}, "client_secret"),  # unknown field
        ({"id_token_signed_response_alg": "HS256"}, "id_token_signed_response_alg"),
        ({"id_token_signed_response_alg": "none"}, "id_token_signed_response_alg"),
    ],
)
async def test_validation_errors_name_the_field_and_save_nothing(
    api_system: System, dev: tuple[aiohttp.ClientSession, AccountView], change: dict[str, Any], field: str
) -> None:
    http, account = dev
    status, body = await call(http, api_system, "POST", API, {**GOOD, **change})
    assert status == 400, body
    assert body["error"] == "validation_failed" and set(body["fields"]) == {field}
    assert await RegistryClient(api_system.bus).list_apps(account.id) == []


async def test_every_failing_field_is_reported_at_once(
    api_system: System, dev: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    http, _ = dev
    bad = {"name": "", "homepage_url": "x", "redirect_uris": [], "scopes": [], "description": "d" * 600}
    status, body = await call(http, api_system, "POST", API, bad)
    assert status == 400
    assert set(body["fields"]) == {"name", "homepage_url", "redirect_uris", "scopes", "description"}


async def test_every_member_of_the_wrong_type_is_named_at_once(
    api_system: System, dev: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    """Each member is converted to its field's type on its own, so the field names are data, not
    text found in a decoder's message; the registry is not asked."""
    http, account = dev
    bad = {**GOOD, "scopes": ["users:read", 2], "require_pkce": "yes", "owner_id": "usr_other"}
    status, body = await call(http, api_system, "POST", API, bad)
    assert status == 400 and body["error"] == "validation_failed"
    assert set(body["fields"]) == {"scopes", "require_pkce", "owner_id"}
    assert "scopes[1]" in body["fields"]["scopes"]
    assert await RegistryClient(api_system.bus).list_apps(account.id) == []


async def test_malformed_json_is_a_400(
    api_system: System, dev: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    http, _ = dev
    headers = {"Content-Type": "application/json"}
    status, body = await call(http, api_system, "POST", API, data=b"{not json", headers=headers)
    assert status == 400 and "body" in body["fields"]


async def test_a_reused_name_is_a_409_with_the_field(
    api_system: System, dev: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    http, account = dev
    await create_app(api_system, account, name="API App")
    status, body = await call(http, api_system, "POST", API, {**GOOD, "name": "api app"})
    assert status == 409 and body["error"] == "conflict" and set(body["fields"]) == {"name"}


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "application/x-www-form-urlencoded"},
        {"Content-Type": "text/plain"},
        {"Content-Type": "multipart/form-data; boundary=x"},
    ],
)
async def test_state_changes_must_be_json(
    api_system: System, dev: tuple[aiohttp.ClientSession, AccountView], headers: dict[str, str]
) -> None:
    http, account = dev
    app, _ = await create_app(api_system, account)
    for method, path in [
        ("POST", API),
        ("PATCH", f"{API}/{app.client_id}"),
        ("DELETE", f"{API}/{app.client_id}"),
        ("POST", f"{API}/{app.client_id}/secret"),
        ("POST", f"{API}/{app.client_id}/revoke-tokens"),
    ]:
        status, body = await call(http, api_system, method, path, data=b'{"name": "x"}', headers=headers)
        assert status == 415, (method, path, body)
    assert [a.client_id for a in await RegistryClient(api_system.bus).list_apps(account.id)] == [
        app.client_id
    ]


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://127.0.0.1:1"])
async def test_cross_origin_state_changes_are_refused(
    api_system: System, dev: tuple[aiohttp.ClientSession, AccountView], origin: str
) -> None:
    http, account = dev
    app, secret = await create_app(api_system, account)
    headers = {"Origin": origin}
    for method, path in [
        ("POST", API),
        ("PATCH", f"{API}/{app.client_id}"),
        ("DELETE", f"{API}/{app.client_id}"),
        ("POST", f"{API}/{app.client_id}/secret"),
        ("PUT", f"{API}/{app.client_id}/logo"),
    ]:
        kw: dict[str, Any] = {"data": image_bytes()} if method == "PUT" else {}
        if method == "PUT":
            headers = {**headers, "Content-Type": "image/png"}
        status, _ = await call(
            http, api_system, method, path, GOOD if method != "PUT" else None, headers=headers, **kw
        )
        assert status == 403, (method, path)
    registry = RegistryClient(api_system.bus)
    assert await registry.get_app(app.client_id) == app
    await registry.verify_client(app.client_id, secret)


async def test_same_origin_is_accepted(
    api_system: System, dev: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    http, _ = dev
    status, _ = await call(http, api_system, "POST", API, GOOD, headers={"Origin": api_system.base_url})
    assert status == 201


async def test_patch_changes_only_the_given_fields(
    api_system: System, dev: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    http, account = dev
    app, _ = await create_app(api_system, account, description="old")
    status, body = await call(http, api_system, "PATCH", f"{API}/{app.client_id}", {"description": "new"})
    assert status == 200 and body["description"] == "new"
    assert (body["name"], body["redirect_uris"], body["scopes"]) == (app.name, app.redirect_uris, app.scopes)
    status, body = await call(http, api_system, "PATCH", f"{API}/{app.client_id}", {"redirect_uris": ["x"]})
    assert status == 400 and set(body["fields"]) == {"redirect_uris"}
    assert (await RegistryClient(api_system.bus).get_app(app.client_id)).redirect_uris == app.redirect_uris


async def test_the_id_token_algorithm_is_rs256_unless_the_app_chooses_es256(
    api_system: System, dev: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    http, _ = dev
    status, created = await call(http, api_system, "POST", API, {**GOOD, "name": "OIDC App"})
    assert status == 201 and created["id_token_signed_response_alg"] == "RS256"
    path = f"{API}/{created['client_id']}"
    status, body = await call(http, api_system, "PATCH", path, {"id_token_signed_response_alg": "ES256"})
    assert status == 200 and body["id_token_signed_response_alg"] == "ES256"
    app = await RegistryClient(api_system.bus).get_app(created["client_id"])
    assert app.id_token_signed_response_alg == "ES256"


async def test_other_users_get_404_everywhere(
    api_system: System, dev: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    _, account = dev
    app, secret = await create_app(api_system, account)
    intruder, _ = await signed_in_client(api_system)
    base = f"{API}/{app.client_id}"
    try:
        for method, path, body in [
            ("GET", base, None),
            ("PATCH", base, {"name": "Mine"}),
            ("DELETE", base, None),
            ("POST", base + "/secret", None),
            ("POST", base + "/revoke-tokens", None),
            ("DELETE", base + "/logo", None),
        ]:
            status, payload = await call(intruder, api_system, method, path, body)
            assert status == 404 and payload["error"] == "not_found", (method, path)
        status, _ = await call(
            intruder,
            api_system,
            "PUT",
            base + "/logo",
            data=image_bytes(),
            headers={"Content-Type": "image/png"},
        )
        assert status == 404
    finally:
        await intruder.close()
    registry = RegistryClient(api_system.bus)
    assert await registry.get_app(app.client_id) == app
    await registry.verify_client(app.client_id, secret)


async def test_regenerate_returns_a_new_secret(
    api_system: System, dev: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    http, account = dev
    app, old = await create_app(api_system, account)
    registry = RegistryClient(api_system.bus)
    status, body = await call(
        http, api_system, "POST", f"{API}/{app.client_id}/secret", {"keep_old_secret_seconds": 3600}
    )
    assert status == 200 and body["old_secret_valid_until"] > 0
    await registry.verify_client(app.client_id, old)
    status, body = await call(http, api_system, "POST", f"{API}/{app.client_id}/secret")
    assert status == 200 and body["old_secret_valid_until"] == 0
    await registry.verify_client(app.client_id, body["client_secret"])
    with pytest.raises(InvalidClient):
        await registry.verify_client(app.client_id, old)
    status, body = await call(
        http, api_system, "POST", f"{API}/{app.client_id}/secret", {"keep_old_secret_seconds": 5}
    )
    assert status == 400 and "keep_old_seconds" in body["fields"]


async def test_revoke_tokens_and_delete_ask_the_revocation_service(
    api_system: System, dev: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    http, account = dev
    app, secret = await create_app(api_system, account)
    async with RevocationStandIn(api_system, families_revoked=7) as revocation:
        status, body = await call(http, api_system, "POST", f"{API}/{app.client_id}/revoke-tokens")
        assert status == 200 and body["families_revoked"] == 7
        status, body = await call(http, api_system, "DELETE", f"{API}/{app.client_id}")
        assert status == 200 and body["deleted"] is True and body["families_revoked"] == 7
    assert revocation.calls == [
        RevokeAppRequest(client_id=app.client_id, reason="app_revoke_all", actor=account.id),
        RevokeAppRequest(client_id=app.client_id, reason="app_deleted", actor=account.id),
    ]
    registry = RegistryClient(api_system.bus)
    with pytest.raises(NotFound):
        await registry.get_app(app.client_id)
    with pytest.raises(InvalidClient):
        await registry.verify_client(app.client_id, secret)
    status, _ = await call(http, api_system, "GET", f"{API}/{app.client_id}")
    assert status == 404


async def test_delete_needs_no_body_but_keeps_the_origin_check(
    api_system: System, dev: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    """A DELETE carries nothing to decode: without a body (and so without Content-Type) it deletes;
    a foreign ``Origin`` is still refused."""
    http, account = dev
    app, _ = await create_app(api_system, account)
    logo = await RegistryClient(api_system.bus).put_logo(account.id, app.client_id, image_bytes())
    assert logo.has_logo
    base = api_system.url(f"{API}/{app.client_id}")
    async with http.delete(base, headers={"Origin": "https://evil.example"}) as resp:
        assert resp.status == 403
    async with http.delete(base + "/logo") as resp:
        assert resp.status == 200 and not (await resp.json())["has_logo"]
    async with RevocationStandIn(api_system, families_revoked=2):
        async with http.delete(base) as resp:
            assert "Content-Type" not in resp.request_info.headers
            body = await resp.json()
            assert resp.status == 200 and body["deleted"] is True and body["families_revoked"] == 2
    with pytest.raises(NotFound):
        await RegistryClient(api_system.bus).get_app(app.client_id)


async def test_revocation_down_is_a_202_pending_not_a_pretend_success(
    api_system: System, dev: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    """Issue 22: the work is queued durably, so the answer is 202 with ``revocation: pending`` (was 503)."""
    http, account = dev
    app, _ = await create_app(api_system, account)
    status, body = await call(http, api_system, "POST", f"{API}/{app.client_id}/revoke-tokens")
    assert status == 202 and body == {"client_id": app.client_id, "revocation": "pending"}
    status, body = await call(http, api_system, "DELETE", f"{API}/{app.client_id}")
    assert status == 202 and body["deleted"] is True and body["revocation"] == "pending"
    assert "families_revoked" not in body
    with pytest.raises(NotFound):
        await RegistryClient(api_system.bus).get_app(app.client_id)


async def test_logo_upload_raw_or_multipart_and_removal(
    api_system: System, dev: tuple[aiohttp.ClientSession, AccountView]
) -> None:
    http, account = dev
    app, _ = await create_app(api_system, account)
    path = f"{API}/{app.client_id}/logo"
    status, body = await call(
        http, api_system, "PUT", path, data=image_bytes("GIF"), headers={"Content-Type": "image/gif"}
    )
    assert status == 200 and body["has_logo"] and body["logo_url"] == f"/oauth/apps/{app.client_id}/logo.png"
    form = aiohttp.FormData()
    form.add_field("logo", image_bytes("WEBP"), filename="l.webp", content_type="image/webp")
    status, body = await call(http, api_system, "PUT", path, data=form)
    assert status == 200 and body["has_logo"]
    status, body = await call(http, api_system, "DELETE", path)
    assert status == 200 and not body["has_logo"]
    async with http.get(api_system.url(f"/oauth/apps/{app.client_id}/logo.png")) as resp:
        assert resp.status == 404


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/png", 400),
        (png_declaring(30_000, 30_000), "image/png", 400),
        (png_padded_to(2 * 1_048_576), "image/png", 400),
        (image_bytes(), "text/plain", 415),
    ],
)
async def test_bad_logos_are_refused(
    api_system: System,
    dev: tuple[aiohttp.ClientSession, AccountView],
    data: bytes,
    content_type: str,
    status: int,
) -> None:
    http, account = dev
    app, _ = await create_app(api_system, account)
    got, body = await call(
        http,
        api_system,
        "PUT",
        f"{API}/{app.client_id}/logo",
        data=data,
        headers={"Content-Type": content_type},
    )
    assert got == status, body
    if status == 400:
        assert set(body["fields"]) == {"logo"}
    assert not (await RegistryClient(api_system.bus).get_app(app.client_id)).has_logo
