"""Your App's webhook receiver (``examples/your_app_webhooks.py``), registered as ``make demo`` registers
it (its webhook URL on its own server, the signing secret Mavio's registry showed once): a request
whose signature the ``standardwebhooks`` library refuses changes nothing; a verified
``authorization.revoked`` deletes what Your App kept for that user, once per ``webhook-id``; other
events delete nothing. The whole chain from a revocation in Mavio is ``tests/browser/test_demo_walk.py``."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import aiohttp
from standardwebhooks.webhooks import Webhook

from examples import your_app, your_app_webhooks
from tests.browser.example_servers import ExampleServers, example_servers
from tests.support.system import System


def signed(secret: str, webhook_id: str, event: dict[str, Any]) -> tuple[str, dict[str, str]]:
    body = json.dumps(event)
    now = dt.datetime.now(dt.UTC)
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, now, body),
        "Content-Type": "application/json",
    }
    return body, headers


def revoked(sub: str) -> dict[str, Any]:
    data = {"grant": f"c:{sub}", "sub": sub, "client_id": "c", "reason": "user"}
    return {"type": "authorization.revoked", "timestamp": "2026-12-07T10:00:00.000Z", "data": data}


def keep_data_of(ex: ExampleServers, sub: str) -> your_app.Visitor:
    visitor = your_app.Visitor(sub=sub, token={"access_token": "x"}, meetings=[{"title": "Kept"}])
    ex.app.visitors[f"browser-of-{sub}"] = visitor
    return visitor


async def post(ex: ExampleServers, body: str, headers: dict[str, str]) -> int:
    async with aiohttp.ClientSession() as http:
        async with http.post(ex.url + your_app_webhooks.PATH, data=body, headers=headers) as resp:
            return resp.status


async def test_your_app_deletes_a_users_data_on_a_verified_revocation_only(system: System) -> None:
    async with example_servers(system) as ex:
        secret = ex.app.config.webhook_secret
        assert secret.startswith("whsec_")
        alice, bob = keep_data_of(ex, "usr_alice"), keep_data_of(ex, "usr_bob")
        body, headers = signed("whsec_" + secret[6:][::-1], "msg_forged", revoked("usr_alice"))
        assert await post(ex, body, headers) == 400
        assert alice.token is not None and alice.meetings
        test_event = {
            "type": "webhook.test",
            "timestamp": "2026-12-07T10:00:00.000Z",
            "data": {"client_id": "c"},
        }
        assert await post(ex, *signed(secret, "msg_test", test_event)) == 204
        assert alice.token is not None
        body, headers = signed(secret, "msg_1", revoked("usr_alice"))
        assert await post(ex, body, headers) == 204
        assert alice.token is None and alice.meetings == [] and alice.deleted_by_mavio
        assert bob.token is not None and bob.meetings
        assert await post(ex, *signed(secret, "msg_1", revoked("usr_alice"))) == 204  # a retry
        assert [h["reason"] for h in ex.webhooks.handled] == ["user"]
        async with aiohttp.ClientSession(cookies={your_app.COOKIE: "browser-of-usr_alice"}) as http:
            async with http.get(ex.url + "/") as resp:
                assert 'id="deleted-by-mavio"' in await resp.text()
