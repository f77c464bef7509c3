"""The JSON API of an app's webhook deliveries (issue 26): the log, Send test event, Redeliver and
Enable, for the app's owner only (404 for anyone else), JSON-only state changes, clear errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.support.factories import create_app, signed_in_client
from tests.support.polling import eventually
from tests.support.system import System, start_system
from tests.support.webhooks import Receiver, attach_webhook

API = "/api/v1/oauth-apps"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
async def api_system() -> AsyncIterator[System]:
    sut = await start_system(
        {"MAVIO_WEBHOOK_RETRY_SCHEDULE": "50ms", "MAVIO_WEBHOOK_TIMEOUT": "1"},
        services=("registry", "webhooks"),
    )
    yield sut
    await sut.close()


async def _call(
    system: System, http: aiohttp.ClientSession, method: str, path: str, **kw: Any
) -> tuple[int, dict[str, Any]]:
    async with http.request(method, system.url(API + path), **kw) as resp:
        return resp.status, await resp.json()


async def test_the_owner_tests_reads_and_redelivers(api_system: System) -> None:
    http, owner = await signed_in_client(api_system)
    receiver = await Receiver().start()
    try:
        app, _ = await create_app(api_system, owner)
        base = f"/{app.client_id}"
        status, body = await _call(api_system, http, "GET", base + "/webhook-deliveries")
        assert (status, body) == (200, {"deliveries": [], "endpoint": _endpoint()})
        status, body = await _call(api_system, http, "POST", base + "/webhook/test", json={})
        assert status == 400 and "webhook URL" in body["error_description"]
        receiver.secret = await attach_webhook(api_system, app.client_id, receiver.url)
        receiver.answers = [500, 500]  # the schedule has one retry: failed after two attempts
        status, sent = await _call(api_system, http, "POST", base + "/webhook/test", json={})
        assert status == 202 and sent["status"] == "pending" and sent["type"] == "webhook.test"

        async def log() -> dict[str, Any]:
            return (await _call(api_system, http, "GET", base + "/webhook-deliveries"))[1]

        body = await eventually(log, lambda b: b["deliveries"][0]["status"] == "failed")
        [one] = body["deliveries"]
        assert (one["id"], one["attempts"], one["last_status"]) == (sent["id"], 2, "500")
        path = f"{base}/webhook-deliveries/{sent['id']}/redeliver"
        status, again = await _call(api_system, http, "POST", path, json={})
        assert status == 202 and again["id"] == sent["id"]
        body = await eventually(log, lambda b: b["deliveries"][0]["status"] == "delivered")
        assert body["deliveries"][0]["attempts"] == 3 and set(receiver.ids()) == {sent["id"]}
        status, body = await _call(api_system, http, "POST", path, json={})
        assert status == 400 and body["error"] == "invalid_request"  # delivered: nothing to redeliver
        status, body = await _call(api_system, http, "POST", base + "/webhook/enable", json={})
        assert (status, body) == (200, _endpoint())
    finally:
        await receiver.close()
        await http.close()


async def test_only_the_owner_and_only_json(api_system: System) -> None:
    http, owner = await signed_in_client(api_system)
    other, _ = await signed_in_client(api_system)
    try:
        app, _ = await create_app(api_system, owner)
        base = f"/{app.client_id}"
        for method, path in (
            ("GET", "/webhook-deliveries"),
            ("POST", "/webhook/test"),
            ("POST", "/webhook/enable"),
            ("POST", "/webhook-deliveries/msg_x/redeliver"),
        ):
            status, body = await _call(api_system, other, method, base + path, json={})
            assert (status, body["error"]) == (404, "not_found"), path
        status, body = await _call(api_system, http, "POST", base + "/webhook/test", data="{}")
        assert status == 415
        status, body = await _call(
            api_system, http, "POST", base + "/webhook-deliveries/msg_x/redeliver", json={}
        )
        assert status == 404 and body["error"] == "not_found"
        async with aiohttp.ClientSession() as anonymous:
            status, body = await _call(api_system, anonymous, "GET", base + "/webhook-deliveries")
            assert status == 401
    finally:
        await http.close()
        await other.close()


def _endpoint() -> dict[str, Any]:
    return {"enabled": True, "disabled_at": 0, "failing_since": 0}
