"""The client's side of a browser walk: a tiny web server on a loopback port whose ``/callback`` is
the registered redirect URI. It records every query it receives and answers with a plain page."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import web

from services.stack.embedded import free_port

CLIENT_PAGE = "<!doctype html><html lang='en'><title>Client</title><h1>Back at the client</h1></html>"


@dataclass
class ClientSite:
    """The client's redirect endpoint (``url``) and the queries it received, in order."""

    url: str
    received: list[dict[str, str]] = field(default_factory=list)


@contextlib.asynccontextmanager
async def client_site() -> AsyncIterator[ClientSite]:
    port = free_port()
    site = ClientSite(url=f"http://127.0.0.1:{port}/callback")

    async def callback(request: web.Request) -> web.Response:
        site.received.append(dict(request.query))
        return web.Response(text=CLIENT_PAGE, content_type="text/html")

    app = web.Application()
    app.router.add_get("/callback", callback)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield site
    finally:
        await runner.cleanup()
