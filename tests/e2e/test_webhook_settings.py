"""An app's webhook settings over the JSON API (issue 26): ``webhook_url`` validated like redirect URIs
(https in production, http on loopback in development, no loopback/private/link-local address or
``localhost`` at save in production), the signing secret (Standard Webhooks ``whsec_``) shown once in
the reply that mints it, kept when the URL changes, gone with the URL, regenerated on request; stored
only sealed (never in Redis, a log line or an event in the clear), and every change in the audit trail."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import msgspec
import pytest

from services.registry.webhook_secrets import purpose
from shared import keys
from shared.apps.records import AppRecord
from shared.events import read_audit
from shared.logging import configure_logging
from shared.messages import events as ev
from shared.sealing import Sealer
from tests.support.factories import create_account, sign_in, signed_in_client, unique_email
from tests.support.polling import eventually
from tests.support.system import System, start_system

API = "/api/v1/oauth-apps"
APP: dict[str, Any] = {
    "name": "Hooked App",
    "homepage_url": "https://hooked.example",
    "redirect_uris": ["https://hooked.example/cb"],
    "scopes": ["meetings:read"],
}
PRODUCTION = {
    "MAVIO_ENV": "production",
    "MAVIO_TOKEN_HMAC_KEY": "production-test-key-" + "x" * 32,
    "MAVIO_KEY_ENCRYPTION_KEY": "production-test-kek-" + "y" * 32,
}


@pytest.fixture(scope="module")
async def logged() -> AsyncIterator[tuple[System, io.StringIO]]:
    """Registry and gateway in development, every log line (debug) kept in a buffer."""
    buffer = io.StringIO()
    configure_logging(json=True, level="debug", stream=buffer, cache=False)
    sut = await start_system({"MAVIO_LOG_LEVEL": "debug"}, services=("registry",))
    try:
        yield sut, buffer
    finally:
        await sut.close()
        configure_logging(json=False, level="warning", cache=False)


@pytest.fixture(scope="module")
async def production() -> AsyncIterator[System]:
    sut = await start_system(PRODUCTION, services=("registry",))
    yield sut
    await sut.close()


async def production_client(system: System) -> aiohttp.ClientSession:
    """Signed in to the production gateway: a jar that sends its Secure cookies over the test's http."""
    email = unique_email()
    await create_account(system, email=email)
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[system.base_url])
    http = aiohttp.ClientSession(cookie_jar=jar)
    await sign_in(system, http, email)
    return http


async def call(http: aiohttp.ClientSession, method: str, url: str, body: Any = None) -> tuple[int, Any]:
    async with http.request(method, url, json={} if body is None else body, allow_redirects=False) as resp:
        return resp.status, await resp.json()


async def stored(system: System, client_id: str) -> AppRecord:
    return msgspec.json.decode(await system.redis.get(keys.app(client_id)), type=AppRecord)


def opened(system: System, record: AppRecord) -> str:
    return (
        Sealer(system.settings.encryption_key)
        .open(record.webhook_secret, purpose=purpose(record.client_id))
        .decode()
    )


def assert_standard_secret(secret: str) -> None:
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32


async def webhook_changes(system: System, client_id: str, count: int) -> list[str]:
    async def changes() -> list[str]:
        return [
            e.webhook
            async for _, e in read_audit(system.nc, client_id)
            if isinstance(e, ev.AppChanged) and e.webhook
        ]

    return await eventually(changes, lambda found: len(found) >= count)


async def test_the_secret_is_shown_once_kept_on_a_change_and_gone_with_the_url(
    logged: tuple[System, io.StringIO],
) -> None:
    system, buffer = logged
    http, _ = await signed_in_client(system)
    async with http:
        status, created = await call(http, "POST", system.url(API), APP)
        assert status == 201 and created["webhook_url"] == "" and "webhook_secret" not in created
        app_url = system.url(f"{API}/{created['client_id']}")
        status, first = await call(http, "PATCH", app_url, {"webhook_url": "https://hooked.example/hooks"})
        assert status == 200 and first["webhook_url"] == "https://hooked.example/hooks"
        secret = first["webhook_secret"]
        assert_standard_secret(secret)
        record = await stored(system, created["client_id"])
        assert opened(system, record) == secret and secret not in record.webhook_secret
        status, changed = await call(http, "PATCH", app_url, {"webhook_url": "https://hooked.example/v2"})
        assert status == 200 and "webhook_secret" not in changed and changed["webhook_url"].endswith("/v2")
        assert opened(system, await stored(system, created["client_id"])) == secret  # kept
        status, shown = await call(http, "GET", app_url)
        assert status == 200 and "webhook_secret" not in shown and secret not in str(shown)
        status, again = await call(http, "PATCH", app_url, {"name": "Hooked App 2"})
        assert "webhook_secret" not in again
        status, removed = await call(http, "PATCH", app_url, {"webhook_url": None})
        assert status == 200 and removed["webhook_url"] == "" and "webhook_secret" not in removed
        assert (await stored(system, created["client_id"])).webhook_secret == ""
        status, refused = await call(http, "POST", app_url + "/webhook/secret")
        assert status == 400 and "webhook URL first" in refused["fields"]["webhook_url"]
        status, fresh = await call(http, "PATCH", app_url, {"webhook_url": "https://hooked.example/v3"})
        assert fresh["webhook_secret"] != secret  # a URL set again: a new secret, shown once
        assert_standard_secret(fresh["webhook_secret"])
    changes = await webhook_changes(system, created["client_id"], 4)
    assert changes == ["set", "changed", "removed", "set"]
    assert secret not in buffer.getvalue() and fresh["webhook_secret"] not in buffer.getvalue()
    await assert_not_in_redis(system, [secret, fresh["webhook_secret"]])


async def test_regenerating_the_secret_replaces_it(logged: tuple[System, io.StringIO]) -> None:
    system, buffer = logged
    http, _ = await signed_in_client(system)
    async with http:
        status, created = await call(
            http, "POST", system.url(API), {**APP, "webhook_url": "https://h.example/w"}
        )
        assert status == 201 and created["webhook_url"] == "https://h.example/w"
        first = created["webhook_secret"]
        assert_standard_secret(first)
        app_url = system.url(f"{API}/{created['client_id']}")
        status, regenerated = await call(http, "POST", app_url + "/webhook/secret")
        assert status == 200 and regenerated["client_id"] == created["client_id"]
        second = regenerated["webhook_secret"]
        assert_standard_secret(second)
        assert second != first and opened(system, await stored(system, created["client_id"])) == second
        async with http.post(
            app_url + "/webhook/secret", data="x", headers={"Content-Type": "text/plain"}
        ) as resp:
            assert resp.status == 415
    assert await webhook_changes(system, created["client_id"], 2) == ["set", "secret_regenerated"]
    events = [e async for _, e in read_audit(system.nc, created["client_id"])]
    assert all(first not in msgspec.json.encode(e).decode() for e in events)
    assert first not in buffer.getvalue() and second not in buffer.getvalue()
    await assert_not_in_redis(system, [first, second])


async def test_another_users_app_has_no_webhook_secret_route(logged: tuple[System, io.StringIO]) -> None:
    system = logged[0]
    owner, _ = await signed_in_client(system)
    other, _ = await signed_in_client(system)
    async with owner, other:
        _, created = await call(owner, "POST", system.url(API), {**APP, "webhook_url": "https://o.example/w"})
        status, body = await call(other, "POST", system.url(f"{API}/{created['client_id']}/webhook/secret"))
        assert status == 404 and "webhook_secret" not in body


async def assert_not_in_redis(system: System, secrets: list[str]) -> None:
    """Neither the secret nor its random part (base64) is in any Redis value, of any type."""
    needles = [s.encode() for s in secrets] + [s.removeprefix("whsec_").encode() for s in secrets]
    async for key in system.redis.scan_iter(count=500):
        kind = (await system.redis.type(key)).decode()
        if kind == "string":
            values = [await system.redis.get(key)]
        elif kind == "hash":
            values = list((await system.redis.hgetall(key)).values())
        elif kind in ("set", "zset", "list"):
            continue  # members are ids and signatures; never written from a secret
        else:
            values = []
        for value in values:
            assert not any(n in value for n in needles), key


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("http://127.0.0.1:8400/hooks", True),
        ("http://localhost:8400/hooks", True),
        ("http://[::1]:8400/hooks", True),
        ("https://hooks.example/in", True),
        ("http://hooks.example/in", False),
        ("ftp://hooks.example/in", False),
        ("https://hooks.example/in#frag", False),
        ("https://user:pw@hooks.example/in", False),
    ],
)
async def test_webhook_urls_in_development(logged: tuple[System, io.StringIO], url: str, ok: bool) -> None:
    system, _ = logged
    http, _ = await signed_in_client(system)
    async with http:
        status, body = await call(http, "POST", system.url(API), {**APP, "webhook_url": url})
    if ok:
        assert status == 201 and body["webhook_url"] == url, body
    else:
        assert status == 400 and body["fields"]["webhook_url"].startswith(f"Webhook URL ({url})"), body


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hooks",
        "https://localhost/hooks",
        "https://10.1.2.3/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hooks",
        "https://[::ffff:127.0.0.1]/hooks",
        "https://192.168.0.10/hooks",
        "https://100.64.0.1/hooks",
        "https://[fe80::1]/hooks",
        "http://hooks.example/in",
        "http://127.0.0.1:8400/hooks",
    ],
)
async def test_production_refuses_non_public_and_plain_http_urls_at_save(
    production: System, url: str
) -> None:
    async with await production_client(production) as http:
        status, body = await call(http, "POST", production.url(API), {**APP, "webhook_url": url})
        assert status == 400, body
        message = body["fields"]["webhook_url"]
        assert "must use https" in message or "must point to a public address" in message, message
        _, created = await call(http, "POST", production.url(API), {**APP, "name": "Prod ok"})
        status, body = await call(
            http, "PATCH", production.url(f"{API}/{created['client_id']}"), {"webhook_url": url}
        )
        assert status == 400 and "webhook_url" in body["fields"]


async def test_production_accepts_an_https_url_on_a_public_host(production: System) -> None:
    async with await production_client(production) as http:
        status, body = await call(
            http, "POST", production.url(API), {**APP, "webhook_url": "https://hooks.example/in"}
        )
    assert status == 201 and body["webhook_url"] == "https://hooks.example/in"
    assert_standard_secret(body["webhook_secret"])
