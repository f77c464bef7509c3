"""The example integration's two servers (``examples/``: Your App and the Meetings API) on loopback
ports in front of a whole Mavio system, Your App registered by its developer as ``make demo`` does
(with its webhook URL on its own server, and the signing secret Mavio showed once), and a meeting host
to sign in with."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from examples import meetings_api, your_app, your_app_webhooks
from services.stack.embedded import free_port
from shared.messages.registry import AccountView, UpdateAppRequest
from shared.registry_client import RegistryClient
from tests.support.factories import create_account, create_app
from tests.support.system import System


@dataclass
class ExampleServers:
    url: str  # Your App's
    app: your_app.YourApp
    user: AccountView
    webhooks: your_app_webhooks.Receiver

    def visitor(self) -> your_app.Visitor:
        [visitor] = [v for v in self.app.visitors.values() if v.token is not None]
        return visitor


@asynccontextmanager
async def example_servers(
    system: System, *, developer: str = "Your App Inc.", webhooks: bool = True
) -> AsyncIterator[ExampleServers]:
    """Your App and the Meetings API serving against ``system``. Without ``webhooks`` Your App has no
    webhook URL, so it learns of a revocation only when Mavio refuses its tokens."""
    api_port, app_port = free_port(), free_port()
    owner = await create_account(system, name=developer)
    home = f"http://127.0.0.1:{app_port}/"
    registered, secret = await create_app(
        system, owner, name="Your App", redirect_uris=[home + "callback", home + "signed-in"],
        scopes=["openid", "profile", "email", "meetings:read", "transcripts:read", "users:read"],
        post_logout_redirect_uris=[home],
    )  # fmt: skip
    webhook_secret = ""
    if webhooks:
        hooked = await RegistryClient(system.bus).update_app(
            UpdateAppRequest(
                user_id=owner.id,
                client_id=registered.client_id,
                webhook_url=f"http://127.0.0.1:{app_port}{your_app_webhooks.PATH}",
            )
        )
        webhook_secret = hooked.webhook_secret
    config = your_app.Config(
        mavio_url=system.url(""),
        client_id=registered.client_id,
        client_secret=secret,
        redirect_uri=registered.redirect_uris[0],
        api_url=f"http://127.0.0.1:{api_port}",
        webhook_secret=webhook_secret,
    )
    runners: list[web.AppRunner] = []
    try:
        for application, port in (
            (meetings_api.create_app(system.nc), api_port),
            (your_app.create_app(config), app_port),
        ):
            runner = web.AppRunner(application, access_log=None)
            runners.append(runner)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
        user = await create_account(system, name="Meeting Host")
        served = runners[1].app
        yield ExampleServers(
            f"http://127.0.0.1:{app_port}", served[your_app.APP], user, served[your_app.RECEIVER]
        )
    finally:
        for runner in runners:
            await runner.cleanup()
