"""Test data through the real code paths: accounts via the registry's account service (argon2id,
the real store), apps via the registry's owner operation on the bus, and sign-in through the
``/login`` form with its CSRF token, like a browser."""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import re
import struct
import uuid
import zlib
from functools import cache

import aiohttp
import msgspec
import nats.errors
from nats.aio.msg import Msg
from nats.js.client import JetStreamContext

from shared import subjects
from shared.accounts.passwords import Passwords
from shared.accounts.service import AccountService
from shared.accounts.store import RedisAccountStore
from shared.commands import COMMAND_STREAM, CONSUMER, consumer_config, ensure_command_queue, envelope_decoder
from shared.messages.commands import RevokeApp
from shared.messages.registry import AccountView, AppView, CreateAppRequest
from shared.messages.revocation import RevokeAppReply, RevokeAppRequest
from shared.registry_client import RegistryClient
from tests.support.system import System

DEFAULT_PASSWORD = "correct horse battery staple"
DEFAULT_SCOPES = ("meetings:read", "transcripts:read", "users:read")
DEFAULT_REDIRECT_URIS = ("http://127.0.0.1:9999/callback",)
_counter = itertools.count(1)
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@cache
def _passwords() -> Passwords:
    return Passwords()


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{next(_counter)}-{uuid.uuid4().hex[:8]}@example.com"


async def create_account(
    system: System,
    *,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    plan: str = "free",
    name: str = "Test User",
) -> AccountView:
    """A new account (unique email unless given), stored by the registry's own account service."""
    service = AccountService(RedisAccountStore(system.redis), _passwords())
    return await service.create(email=email or unique_email(), name=name, plan=plan, password=password)


async def create_app(
    system: System,
    owner: AccountView,
    *,
    name: str = "Your App",
    redirect_uris: tuple[str, ...] | list[str] = DEFAULT_REDIRECT_URIS,
    scopes: tuple[str, ...] | list[str] = DEFAULT_SCOPES,
    description: str = "",
    homepage_url: str = "https://app.example",
    logo: bytes | None = None,
    id_token_signed_response_alg: str = "RS256",
    require_pkce: bool = False,
    device_flow: bool = False,
    client_type: str = "confidential",
    post_logout_redirect_uris: tuple[str, ...] | list[str] = (),
) -> tuple[AppView, str]:
    """Register an app for ``owner`` through the registry's bus operation: (view, one-time secret;
    ``""`` for a public app).

    App names are unique per owner, so a repeated default name gets a numeric suffix.
    """
    client = RegistryClient(system.bus)
    existing = {a.name.casefold() for a in await client.list_apps(owner.id)}
    unique_name = name
    while unique_name.casefold() in existing:
        unique_name = f"{name} {next(_counter)}"
    reply = await client.create_app(
        CreateAppRequest(
            user_id=owner.id,
            name=unique_name,
            description=description,
            homepage_url=homepage_url,
            redirect_uris=list(redirect_uris),
            scopes=list(scopes),
            logo=logo,
            id_token_signed_response_alg=id_token_signed_response_alg,
            require_pkce=require_pkce,
            device_flow=device_flow,
            client_type=client_type,
            post_logout_redirect_uris=list(post_logout_redirect_uris),
        )
    )
    return reply.app, reply.client_secret


async def login_csrf(system: System, http: aiohttp.ClientSession, path: str = "/login") -> str:
    """Load the sign-in form (which sets the pre-session cookie) and return its CSRF token."""
    async with http.get(system.url(path), allow_redirects=False) as resp:
        html = await resp.text()
    found = _CSRF_FIELD.search(html)
    assert found, f"no CSRF token on {path} (status {resp.status})"
    return found.group(1)


async def sign_in(
    system: System, http: aiohttp.ClientSession, email: str, password: str = DEFAULT_PASSWORD
) -> None:
    """Sign ``http`` in through the ``/login`` form; fails the test when the form refuses."""
    token = await login_csrf(system, http)
    data = {"csrf_token": token, "email": email, "password": password}
    async with http.post(system.url("/login"), data=data, allow_redirects=False) as resp:
        assert resp.status == 303, f"sign-in refused: {resp.status} {await resp.text()}"


def new_http() -> aiohttp.ClientSession:
    """A separate browser-like client (own cookie jar), e.g. for a second user."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


# ---- HTML helpers for page tests -------------------------------------------------------------

_FIELD_ERROR = re.compile(r'<p class="field-error" id="([\w-]+)-error"[^>]*>([^<]*)</p>')
_CODE = re.compile(r'<code id="([\w-]+)">([^<]*)</code>')
_SPAN = re.compile(r'<span id="([\w-]+)">([^<]*)</span>')


def csrf_of(html: str) -> str:
    """The session CSRF token carried by the forms of a signed-in page."""
    found = _CSRF_FIELD.search(html)
    assert found, "no csrf_token field on the page"
    return found.group(1)


def field_errors(html: str) -> dict[str, str]:
    """Inline messages next to form fields: field name -> message."""
    return {m.group(1): m.group(2) for m in _FIELD_ERROR.finditer(html)}


def code_by_id(html: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in _CODE.finditer(html)}


def span_by_id(html: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in _SPAN.finditer(html)}


async def signed_in_client(
    system: System, *, plan: str = "free"
) -> tuple[aiohttp.ClientSession, AccountView]:
    """A new account and a separate HTTP client signed in as it (close the client when done)."""
    email = unique_email()
    account = await create_account(system, email=email, plan=plan)
    http = new_http()
    await sign_in(system, http, email)
    return http, account


# ---- images for logo tests --------------------------------------------------------------------


def image_bytes(
    fmt: str = "PNG", size: tuple[int, int] = (300, 200), color: tuple[int, int, int] = (200, 40, 40)
) -> bytes:
    """A small solid image in ``fmt`` (PNG, JPEG, GIF or WEBP)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=fmt)
    return out.getvalue()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b""))
        + _png_chunk(b"IEND", b"")
    )


def png_padded_to(total: int) -> bytes:
    """A valid 8x8 PNG grown to exactly ``total`` bytes by a private ancillary chunk."""
    png = image_bytes("PNG", (8, 8))
    pad = _png_chunk(b"prVt", b"\0" * (total - len(png) - 12))
    return png[:33] + pad + png[33:]


class RevocationStandIn:
    """Takes revocation's commands from the real command queue (``shared.commands``: revoke an app's
    tokens, for "Revoke all tokens" and "Delete app"), records each as the ``RevokeAppRequest`` it
    amounts to and answers the waiting registry.

    For systems started without the revocation service: the gateway's side can be tested either way.
    Commands left in the queue by earlier tests are dropped when it starts.
    """

    def __init__(self, system: System, families_revoked: int = 3) -> None:
        self.system = system
        self.families_revoked = families_revoked
        self.calls: list[RevokeAppRequest] = []
        self._task: asyncio.Task[None] | None = None
        self._sub: JetStreamContext.PullSubscription | None = None

    async def handle(self, msg: Msg) -> None:
        envelope = envelope_decoder.decode(msg.data)
        command = envelope.command
        assert isinstance(command, RevokeApp), command
        self.calls.append(
            RevokeAppRequest(client_id=command.client_id, reason=command.reason, actor=command.actor)
        )
        await msg.ack()
        reply = msgspec.json.encode(RevokeAppReply(families_revoked=self.families_revoked))
        await self.system.nc.publish(envelope.reply_to, reply)

    async def _serve(self, sub: JetStreamContext.PullSubscription) -> None:
        while True:
            try:
                msgs = await sub.fetch(1, timeout=0.5)
            except (nats.errors.TimeoutError, TimeoutError):
                continue
            for msg in msgs:
                await self.handle(msg)

    async def __aenter__(self) -> RevocationStandIn:
        nc = self.system.nc
        await ensure_command_queue(nc)
        await nc.jetstream().purge_stream(COMMAND_STREAM)
        sub = await nc.jetstream().pull_subscribe(
            f"{subjects.COMMANDS_REVOCATION}.>",
            durable=CONSUMER,
            stream=COMMAND_STREAM,
            config=consumer_config(),
        )
        self._sub = sub
        self._task = asyncio.create_task(self._serve(sub))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._sub is not None:
            await self._sub.unsubscribe()
