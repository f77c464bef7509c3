"""``make demo``: Mavio (the whole system, started exactly as ``make run`` starts it), the Meetings API
and Your App, with Your App registered for the demo account; prints every URL it uses. Ctrl-C (or
SIGTERM) stops everything.

Credentials: the launcher (``services.stack``) starts NATS and Redis requiring authentication, with
fresh random passwords, and writes the stack file (``shared.stack_file``). The demo reads it like any
client on this machine: it registers Your App as the operator (bus user ``cli``) and the Meetings API
connects as a resource server (``shared.verify_client.bus_options``: bus user ``resource``).

Ports: ``MAVIO_HTTP_PORT`` (Mavio), ``DEMO_APP_PORT`` (Your App), ``DEMO_API_PORT`` (Meetings API); each
one left unset is a free port. A port that is set but taken is a one-line error naming it. With Mavio
on a free port its data (``<run dir>/<port>/``) is removed after a clean stop: set ``MAVIO_HTTP_PORT``
to keep the demo account's apps from one run to the next. Every run
gives Your App a new client secret and webhook signing secret (the old ones stop working): each is shown
only once, so the demo cannot reuse the previous run's. Your App's webhook URL is on its own server.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import nats
from aiohttp import web

from examples import meetings_api, your_app, your_app_webhooks
from services.stack.demo import DEMO_EMAIL, DEMO_PASSWORD, ensure_demo_account
from services.stack.embedded import die_with_parent, free_port
from services.stack.supervisor import child_env, wait_ready
from shared import stack_file
from shared.bus import Bus
from shared.bus_auth import connect_options
from shared.config import load_settings
from shared.messages.registry import CreateAppRequest, UpdateAppRequest
from shared.registry_client import RegistryClient
from shared.verify_client import bus_options

APP_NAME = "Your App"
SCOPES = ["openid", "profile", "email", "meetings:read", "transcripts:read", "users:read"]
PORT_VARIABLES = {"MAVIO_HTTP_PORT": "Mavio", "DEMO_APP_PORT": "Your App", "DEMO_API_PORT": "Meetings API"}
READY_TIMEOUT = 90.0


class PortError(Exception):
    """A one-line message: a port that was asked for cannot be used."""


@dataclass(frozen=True)
class Ports:
    mavio: int
    app: int
    api: int


def port_taken(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def choose_ports(env: Mapping[str, str]) -> Ports:
    """The ports set in ``env`` (each checked free, else ``PortError`` naming it) or free ones."""
    chosen: dict[str, int] = {}
    for name, what in PORT_VARIABLES.items():
        raw = env.get(name, "").strip()
        if not raw:
            continue
        if not raw.isdigit() or not 1 <= int(raw) <= 65535:
            raise PortError(f"{name}={raw} is not a port number (1-65535)")
        if port_taken(int(raw)):
            raise PortError(f"port {raw} ({name}, {what}) is already in use: free it, or unset {name}")
        chosen[name] = int(raw)
    for name in PORT_VARIABLES:
        while name not in chosen:
            port = free_port()
            if port not in chosen.values():
                chosen[name] = port
    return Ports(chosen["MAVIO_HTTP_PORT"], chosen["DEMO_APP_PORT"], chosen["DEMO_API_PORT"])


async def register_your_app(
    registry: RegistryClient, user_id: str, redirect_uri: str, webhook_url: str
) -> tuple[str, str, str]:
    """Your App's client ID, a fresh client secret and a fresh webhook signing secret: registered on the
    first run (with its webhook URL on its own server), re-keyed afterwards.

    Its redirect URIs are the Connect callback and Sign in with Mavio's; its home page is its
    post-logout redirect URI (``examples.your_app.Config``)."""
    home = redirect_uri.rsplit("/", 1)[0] + "/"
    redirect_uris, post_logout = [redirect_uri, home + "signed-in"], [home]
    existing = [a for a in await registry.list_apps(user_id) if a.name == APP_NAME]
    if not existing:
        reply = await registry.create_app(
            CreateAppRequest(
                user_id=user_id,
                name=APP_NAME,
                description="The example integration from Mavio's integration guide.",
                homepage_url=home,
                redirect_uris=redirect_uris,
                scopes=SCOPES,
                post_logout_redirect_uris=post_logout,
                webhook_url=webhook_url,
            )
        )
        return reply.app.client_id, reply.client_secret, reply.webhook_secret
    app = existing[0]
    wanted = (redirect_uris, SCOPES, post_logout, webhook_url)
    if (app.redirect_uris, app.scopes, app.post_logout_redirect_uris, app.webhook_url) != wanted:
        change = UpdateAppRequest(
            user_id=user_id,
            client_id=app.client_id,
            redirect_uris=redirect_uris,
            scopes=SCOPES,
            post_logout_redirect_uris=post_logout,
            webhook_url=webhook_url,
        )
        await registry.update_app(change)
    regenerated = await registry.regenerate_secret(user_id, app.client_id)
    webhook = await registry.regenerate_webhook_secret(user_id, app.client_id)
    return app.client_id, regenerated.client_secret, webhook.webhook_secret


@contextlib.asynccontextmanager
async def serving(application: web.Application, port: int, variable: str) -> AsyncIterator[None]:
    runner = web.AppRunner(application, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
    except OSError as exc:  # taken since the ports were chosen
        await runner.cleanup()
        if exc.errno != errno.EADDRINUSE:
            raise PortError(f"cannot listen on port {port} ({variable}): {exc.strerror}") from None
        raise PortError(f"port {port} ({variable}) is already in use: free it, or unset {variable}") from None
    try:
        yield
    finally:
        await runner.cleanup()


def stack_environ(env: Mapping[str, str], port: int) -> dict[str, str]:
    """What a client of the launcher's stack on ``port`` reads: its run folder and port, no server URL
    (so the stack file is used, as ``mavio-oauth`` and resource servers use it)."""
    out = {k: v for k, v in env.items() if k not in stack_file.URL_VARIABLES}
    out["MAVIO_HTTP_PORT"] = str(port)
    return out


async def mavio_ready(port: int, launcher: subprocess.Popen[bytes], halt: threading.Event) -> str:
    """Empty once Mavio answers ``/readyz``; else why not (the launcher exited, the timeout, a stop)."""
    deadline = time.monotonic() + READY_TIMEOUT
    detail = "no answer"
    while time.monotonic() < deadline and not halt.is_set():
        if launcher.poll() is not None:
            return f"Mavio stopped (exit status {launcher.returncode}); its output is above"
        ready, detail = await asyncio.to_thread(
            wait_ready, f"http://127.0.0.1:{port}/readyz", 1.0, None, halt
        )
        if ready:
            return ""
    return "stopped" if halt.is_set() else f"Mavio is not ready after {READY_TIMEOUT:.0f}s: {detail}"


async def run(
    env: dict[str, str],
    ports: Ports,
    stop: asyncio.Event,
    launcher: subprocess.Popen[bytes],
    halt: threading.Event,
) -> int:
    mavio_url = env.get("MAVIO_PUBLIC_URL") or f"http://127.0.0.1:{ports.mavio}"
    problem = await mavio_ready(ports.mavio, launcher, halt)
    if problem == "stopped":
        return 0
    if problem:
        print(f"demo: {problem}", file=sys.stderr)
        return 1
    clients = stack_environ(env, ports.mavio)
    operator_env, found = stack_file.client_environ(clients)
    await asyncio.to_thread(ensure_demo_account, operator_env)  # as make run does (idempotent)
    operator = load_settings(operator_env)
    async with contextlib.AsyncExitStack() as stack:
        nc = await nats.connect(servers=operator.nats_url.split(","), **connect_options(operator))
        stack.push_async_callback(nc.drain)
        api_nc = await nats.connect(**bus_options(clients))  # the Meetings API: bus user "resource"
        stack.push_async_callback(api_nc.drain)
        registry = RegistryClient(Bus(nc, timeout=5))
        account = await registry.authenticate(DEMO_EMAIL, DEMO_PASSWORD)
        redirect_uri = f"http://127.0.0.1:{ports.app}/callback"
        webhook_url = f"http://127.0.0.1:{ports.app}{your_app_webhooks.PATH}"
        client_id, secret, webhook_secret = await register_your_app(
            registry, account.id, redirect_uri, webhook_url
        )
        config = your_app.Config(
            mavio_url=mavio_url,
            client_id=client_id,
            client_secret=secret,
            redirect_uri=redirect_uri,
            api_url=f"http://127.0.0.1:{ports.api}",
            webhook_secret=webhook_secret,
        )
        async with (
            serving(meetings_api.create_app(api_nc), ports.api, "DEMO_API_PORT"),
            serving(your_app.create_app(config), ports.app, "DEMO_APP_PORT"),
        ):
            where = f" (stack file {found.shown()})" if found is not None else ""
            print(
                "\ndemo: ready. Open Your App (the example third-party app) and press Connect Mavio:\n"
                f"  Your App      http://127.0.0.1:{ports.app}/\n"
                f"  Mavio         {mavio_url}/  (sign in as {DEMO_EMAIL} / {DEMO_PASSWORD})\n"
                f"  Meetings API  http://127.0.0.1:{ports.api}/meetings  (needs a bearer token)\n"
                f"  Connected apps  {mavio_url}/settings/connected-apps  (where a user revokes an app)\n"
                f"  Webhooks      {webhook_url}  (Your App deletes a user's data when they revoke it)\n"
                f"demo: NATS {operator.nats_url}, Redis {operator.redis_url}: passwords required{where}\n"
                "demo: Ctrl-C stops everything.",
                flush=True,
            )
            await stop.wait()
    return 0


def stop_launcher(mavio: subprocess.Popen[bytes]) -> None:
    if mavio.poll() is None:
        mavio.send_signal(signal.SIGTERM)
    try:
        mavio.wait(timeout=30)
    except subprocess.TimeoutExpired:
        mavio.kill()
        mavio.wait()


def main() -> int:
    env = dict(os.environ)
    try:
        ports = choose_ports(env)
    except PortError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    env["MAVIO_HTTP_PORT"] = str(ports.mavio)
    env["MAVIO_RUN_DIR"] = str(Path(env.get("MAVIO_RUN_DIR") or ".run").absolute())
    # Its own session: a Ctrl-C reaches this process alone, which stops Mavio with one SIGTERM (a second
    # signal would make the launcher kill everything at once).
    mavio = subprocess.Popen(
        [sys.executable, "-m", "services.stack"],
        env=child_env(env),
        start_new_session=True,
        preexec_fn=die_with_parent,
    )
    loop = asyncio.new_event_loop()
    stop, halt = asyncio.Event(), threading.Event()  # halt: the same, for the readiness wait's thread

    def on_signal() -> None:
        stop.set()
        halt.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    code = 1
    try:
        code = loop.run_until_complete(run(env, ports, stop, mavio, halt))
    except PortError as exc:
        print(f"demo: {exc}", file=sys.stderr)
    except stack_file.StackNotRunning as exc:  # the launcher stopped before the demo could use it
        print(f"demo: {exc}", file=sys.stderr)
    finally:
        loop.close()
        stop_launcher(mavio)
        if code == 0 and not os.environ.get("MAVIO_HTTP_PORT"):  # a free port's data is this run's only
            shutil.rmtree(Path(env["MAVIO_RUN_DIR"]) / str(ports.mavio), ignore_errors=True)
        print("demo: stopped", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
