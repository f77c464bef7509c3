"""``make demo``: Mavio (the whole system, as ``make run``), the Meetings API and Your App, with Your
App registered for the demo account; prints what to open. Ctrl-C (or SIGTERM) stops everything.

Ports: ``MAVIO_HTTP_PORT`` (8080), ``DEMO_APP_PORT`` (8090), ``DEMO_API_PORT`` (8091). Every run
gives Your App a new client secret (the old one stops working): the secret is shown only once, so
the demo cannot reuse the previous run's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import nats
from aiohttp import web

from examples import meetings_api, your_app
from services.stack.demo import DEMO_EMAIL, DEMO_PASSWORD, ensure_demo_account
from services.stack.embedded import ServerProcess, die_with_parent, start_nats, start_redis
from services.stack.supervisor import child_env, wait_ready
from shared.bus import Bus
from shared.messages.registry import CreateAppRequest, UpdateAppRequest
from shared.registry_client import RegistryClient

APP_NAME = "Your App"
SCOPES = ["meetings:read", "transcripts:read", "users:read"]


async def register_your_app(registry: RegistryClient, user_id: str, redirect_uri: str) -> tuple[str, str]:
    """Your App's client ID and a fresh secret: registered on the first run, re-keyed afterwards."""
    existing = [a for a in await registry.list_apps(user_id) if a.name == APP_NAME]
    if not existing:
        reply = await registry.create_app(
            CreateAppRequest(
                user_id=user_id,
                name=APP_NAME,
                description="The example integration from Mavio's integration guide.",
                homepage_url=redirect_uri.rsplit("/", 1)[0] + "/",
                redirect_uris=[redirect_uri],
                scopes=SCOPES,
            )
        )
        return reply.app.client_id, reply.client_secret
    app = existing[0]
    if redirect_uri not in app.redirect_uris:
        await registry.update_app(
            UpdateAppRequest(user_id=user_id, client_id=app.client_id, redirect_uris=[redirect_uri])
        )
    regenerated = await registry.regenerate_secret(user_id, app.client_id)
    return app.client_id, regenerated.client_secret


@contextlib.asynccontextmanager
async def serving(application: web.Application, port: int) -> AsyncIterator[None]:
    runner = web.AppRunner(application, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield
    finally:
        await runner.cleanup()


async def run(env: dict[str, str], stop: asyncio.Event) -> int:
    mavio_port = int(env.get("MAVIO_HTTP_PORT", "8080"))
    app_port = int(env.get("DEMO_APP_PORT", "8090"))
    api_port = int(env.get("DEMO_API_PORT", "8091"))
    mavio_url = env.get("MAVIO_PUBLIC_URL", f"http://127.0.0.1:{mavio_port}")
    ready, detail = await asyncio.to_thread(wait_ready, f"http://127.0.0.1:{mavio_port}/readyz", 90.0)
    if not ready:
        print(f"demo: Mavio is not ready: {detail}", file=sys.stderr)
        return 1
    await asyncio.to_thread(ensure_demo_account, env)
    nc = await nats.connect(env["MAVIO_NATS_URL"])
    try:
        registry = RegistryClient(Bus(nc, timeout=5))
        account = await registry.authenticate(DEMO_EMAIL, DEMO_PASSWORD)
        redirect_uri = f"http://127.0.0.1:{app_port}/callback"
        client_id, secret = await register_your_app(registry, account.id, redirect_uri)
        config = your_app.Config(
            mavio_url=mavio_url,
            client_id=client_id,
            client_secret=secret,
            redirect_uri=redirect_uri,
            api_url=f"http://127.0.0.1:{api_port}",
        )
        async with (
            serving(meetings_api.create_app(nc), api_port),
            serving(your_app.create_app(config), app_port),
        ):
            print(
                "\ndemo: ready. Open Your App (the example third-party app) and press Connect Mavio:\n"
                f"  Your App      http://127.0.0.1:{app_port}/\n"
                f"  Mavio         {mavio_url}/  (sign in as {DEMO_EMAIL} / {DEMO_PASSWORD})\n"
                f"  Meetings API  http://127.0.0.1:{api_port}/meetings  (needs a bearer token)\n"
                "demo: Ctrl-C stops everything.",
                flush=True,
            )
            await stop.wait()
    finally:
        await nc.drain()
    return 0


def main() -> int:
    env = dict(os.environ)
    run_dir = Path(env.get("MAVIO_RUN_DIR", ".run")) / "demo"
    servers: list[ServerProcess] = []
    if "MAVIO_NATS_URL" not in env:
        servers.append(start_nats(run_dir / "nats", log_file=run_dir / "nats.log"))
        env["MAVIO_NATS_URL"] = servers[-1].url
    if "MAVIO_REDIS_URL" not in env:
        servers.append(start_redis(run_dir / "redis", log_file=run_dir / "redis.log"))
        env["MAVIO_REDIS_URL"] = servers[-1].url
    # Its own session: a Ctrl-C reaches this process alone, which stops Mavio with one SIGTERM (a second
    # signal would make the launcher kill everything at once).
    mavio = subprocess.Popen(
        [sys.executable, "-m", "services.stack"],
        env=child_env(env),
        start_new_session=True,
        preexec_fn=die_with_parent,
    )
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        return loop.run_until_complete(run(env, stop))
    finally:
        loop.close()
        mavio.send_signal(signal.SIGTERM)
        try:
            mavio.wait(timeout=30)
        except subprocess.TimeoutExpired:
            mavio.kill()
        for server in reversed(servers):
            server.stop()
        print("demo: stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
