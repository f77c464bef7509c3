"""A local webhook receiver for tests: answers each delivery as scripted, and checks every one with the
``standardwebhooks`` library (unmodified) against the app's signing secret. ``attach_webhook`` gives an
app a webhook URL and a sealed signing secret in its record (as the registry stores them)."""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from shared import keys
from shared.sealing import Sealer
from tests.support.system import System, unused_port


@dataclass
class Received:
    id: str
    payload: dict[str, Any] | None  # None: the signature did not verify
    headers: dict[str, str]


@dataclass
class Receiver:
    secret: str = ""
    answers: list[int] = field(default_factory=list)  # statuses to answer in turn; then ``status``
    status: int = 200
    hang: bool = False  # never answer
    gate: asyncio.Event | None = None  # when set: hold each request until the event is set
    location: str = ""  # a 3xx answer's Location
    received: list[Received] = field(default_factory=list)
    url: str = ""
    in_flight: int = 0
    most_in_flight: int = 0
    _runner: web.AppRunner | None = None

    async def start(self, path: str = "/hooks") -> Receiver:
        app = web.Application()
        app.router.add_post(path, self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = unused_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}{path}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        headers = dict(request.headers)
        try:
            payload = Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError:
            payload = None
        self.received.append(Received(request.headers.get("webhook-id", ""), payload, headers))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.hang:
                await asyncio.Event().wait()
            if self.gate is not None:
                await self.gate.wait()
        finally:
            self.in_flight -= 1
        status = self.answers.pop(0) if self.answers else self.status
        extra = {"Location": self.location} if self.location else {}
        return web.Response(status=status, text="ok" if status < 300 else "nope " * 500, headers=extra)

    def ids(self) -> list[str]:
        return [r.id for r in self.received]

    def of_type(self, kind: str) -> list[Received]:
        return [r for r in self.received if r.payload is not None and r.payload["type"] == kind]


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


async def attach_webhook(system: System, client_id: str, url: str, secret: str | None = None) -> str:
    """Set the app's ``webhook_url`` and sealed ``webhook_secret`` in its record; the secret returned."""
    secret = secret or new_secret()
    raw = await system.redis.get(keys.app(client_id))
    record = msgspec.json.decode(raw)
    sealed = Sealer(system.settings.encryption_key).seal(secret.encode(), purpose=f"webhook:{client_id}")
    record |= {"webhook_url": url, "webhook_secret": sealed}
    await system.redis.set(keys.app(client_id), msgspec.json.encode(record))
    return secret


class FakeClock:
    """An injected clock (epoch seconds) that tests move forward by hand."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


Resolve = Callable[[str, int], Awaitable[list[str]]]


async def start_webhooks(
    system: System, *, clock: Callable[[], float] = time.time, resolve: Resolve | None = None, **settings: Any
) -> None:
    """The webhooks service in this test's loop with an injected clock and resolver (and ``settings``
    replaced), stopped with the system or by ``system.stop_service("webhooks")``."""
    from services.webhooks.__main__ import serve

    stop = asyncio.Event()
    config = msgspec.structs.replace(system.settings_of("webhooks"), **settings)
    task = asyncio.create_task(serve(config, stop, clock=clock, resolve=resolve))
    system._stops.setdefault("webhooks", []).append((stop, task))
    await system.wait_service("webhooks")
