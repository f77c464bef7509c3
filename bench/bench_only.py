"""The stack the bench assembles for itself (``bench.stack.Stack``: gateway, token and registry only,
log level warning, unauthenticated embedded servers) and its feed: an owner and apps made through the
registry's bus operation, codes written straight into Redis as the authorize contract says
(``CodeRecord`` with an S256 challenge), refresh tokens from such codes exchanged at ``/oauth/token``.

Not what users run: the HTTP scenarios measure ``make run``'s stack (``bench.shipped``). This one is
kept as the ``mavio bench-only`` breakdown row (what the shipped configuration costs), for
``make profile`` and for the device-polling scenario's app."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import msgspec
import nats
import redis.asyncio as aioredis

from bench.http_scenarios import TokenEndpoint
from bench.interleave import Side
from bench.stack import Stack, wait_instances
from services.stack.embedded import free_port, wait_port
from shared.accounts.passwords import Passwords
from shared.accounts.service import AccountService
from shared.accounts.store import RedisAccountStore
from shared.apps.settings import CONFIDENTIAL
from shared.bus import Bus
from shared.grants import keys as grant_keys
from shared.grants.records import CodeRecord
from shared.messages.registry import CreateAppRequest
from shared.pkce import s256_challenge
from shared.registry_client import RegistryClient
from shared.tokens import Signer, mint, new_family_id

REDIRECT = "http://127.0.0.1:9/cb"
BENCH_ONLY_SIDE = "mavio bench-only"


@dataclass(frozen=True)
class MavioApp:
    client_id: str
    secret: str
    owner_id: str


async def _mavio_app(stack: Stack, *, client_type: str = CONFIDENTIAL) -> MavioApp:
    """A new owner's app (``client_type`` public: no secret, ``MavioApp.secret`` empty)."""
    redis = aioredis.Redis.from_url(stack.settings.redis_url)
    nc = await nats.connect(stack.settings.nats_url)
    try:
        accounts = AccountService(RedisAccountStore(redis), Passwords())
        owner = await accounts.create(
            email=f"bench-{time.time_ns()}@example.com",
            name="Bench",
            plan="pro",
            password="benchmark password 1",
        )
        reply = await RegistryClient(Bus(nc, timeout=10)).create_app(
            CreateAppRequest(
                user_id=owner.id,
                name="Bench",
                homepage_url="https://bench.example",
                redirect_uris=[REDIRECT],
                scopes=["openid", "meetings:read"],
                client_type=client_type,
            )
        )
    finally:
        await nc.drain()
        await redis.aclose()
    return MavioApp(reply.app.client_id, reply.client_secret, owner.id)


async def mavio_codes(
    stack: Stack, app: MavioApp, count: int, *, scope: str = "meetings:read"
) -> list[tuple[str, str]]:
    """``count`` authorization codes with S256 challenges, stored as the authorize service stores them
    (each its own family): (code, code_verifier) pairs. A scope with ``openid`` gets what an OpenID
    Connect sign-in records (nonce, auth_time, sid), so the exchange signs a full ID token."""
    oidc = "openid" in scope.split()
    signer, now, out = Signer(stack.settings.hmac_key), int(time.time()), []
    redis = aioredis.Redis.from_url(stack.settings.redis_url)
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for _ in range(count):
                family, verifier = new_family_id(), secrets.token_urlsafe(48)
                code = mint("code", family)
                record = CodeRecord(
                    family=family,
                    client_id=app.client_id,
                    user_id=app.owner_id,
                    redirect_uri=REDIRECT,
                    scope=scope,
                    code_challenge=s256_challenge(verifier),
                    code_challenge_method="S256",
                    issued_at=now,
                    expires_at=now + 600,
                    nonce=secrets.token_urlsafe(16) if oidc else "",
                    auth_time=now if oidc else 0,
                    sid=secrets.token_urlsafe(12) if oidc else "",
                )
                key = grant_keys.code(family, signer.sign(code))
                pipe.set(key, msgspec.json.encode(record), ex=600)
                out.append((code, verifier))
            await pipe.execute()
    finally:
        await redis.aclose()
    return out


async def _mavio_tokens(stack: Stack, base: str, app: MavioApp, count: int) -> list[str]:
    """``count`` refresh tokens, each from its own authorization (its own family)."""
    tokens = []
    async with aiohttp.ClientSession() as http:
        for code, verifier in await mavio_codes(stack, app, count):
            form = {
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": verifier,
                "redirect_uri": REDIRECT,
                "client_id": app.client_id,
                **({"client_secret": app.secret} if app.secret else {}),  # public: client_id alone
            }
            async with http.post(f"{base}/oauth/token", data=form) as resp:
                tokens.append((await resp.json())["refresh_token"])
    return tokens


@dataclass(frozen=True)
class MavioTarget:
    """Mavio's refresh stack, running: where to send requests and whom to measure."""

    url: str
    app: MavioApp
    rt_file: Path
    pids: dict[str, int]

    @property
    def client_id(self) -> str:
        return self.app.client_id

    @property
    def secret(self) -> str:
        return self.app.secret

    def endpoint(self) -> TokenEndpoint:
        return TokenEndpoint(self.url, self.app.client_id, self.app.secret, REDIRECT, self.pids)


def prepare_mavio(
    stack: Stack, tokens: int, tmp: Path, *, gateways: int = 1, token_replicas: int = 1
) -> MavioTarget:
    """Start registry, token and gateway processes and mint ``tokens`` refresh tokens (one family each).
    Several gateways share the HTTP port (SO_REUSEPORT, as ``make run`` with MAVIO_GATEWAY_REPLICAS)."""
    port = free_port()
    stack.env |= {
        "MAVIO_HTTP_PORT": str(port),
        "MAVIO_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "MAVIO_GATEWAY_REPLICAS": str(gateways),
    }
    procs = {"registry": stack.spawn("services.registry", "registry")}
    for i in range(token_replicas):
        procs[f"token-{i + 1}"] = stack.spawn("services.token", f"token-{i + 1}")
    for i in range(gateways):
        name = "gateway" if gateways == 1 else f"gateway-{i + 1}"
        procs[name] = stack.spawn("services.gateway", name)
    base = f"http://127.0.0.1:{port}"

    async def ready_and_mint() -> tuple[MavioApp, list[str]]:
        nc = await nats.connect(stack.settings.nats_url)
        await wait_instances(nc, "registry", 1)
        await wait_instances(nc, "token", token_replicas)
        await nc.drain()
        for name, proc in procs.items():
            if name.startswith("gateway"):
                wait_port(port, proc)
        app = await _mavio_app(stack)
        return app, await _mavio_tokens(stack, base, app, tokens)

    app, minted = asyncio.run(ready_and_mint())
    rt_file = tmp / "mavio_rt.txt"
    rt_file.write_text("\n".join(minted) + "\n")
    pids = {name: p.pid for name, p in procs.items()}
    pids |= {"nats-server": stack.nats.proc.pid, "redis-server": stack.redis.proc.pid}
    return MavioTarget(f"{base}/oauth/token", app, rt_file, pids)


def bench_only_side(stack: Stack, a: argparse.Namespace, tmp: Path) -> Side:
    """The stack the bench assembles for itself (``prepare_mavio``), refresh only: the breakdown row
    ``mavio bench-only`` beside the shipped stack's, so what the shipped configuration costs is measured."""
    target = prepare_mavio(stack, a.http_concurrency, tmp, gateways=a.gateways, token_replicas=a.http_tokens)
    base = target.url.removesuffix("/oauth/token")

    async def codes(n: int) -> list[tuple[str, str]]:
        return await mavio_codes(stack, target.app, n)

    async def mint(n: int) -> list[str]:
        return await _mavio_tokens(stack, base, target.app, n)

    return Side(BENCH_ONLY_SIDE, target.endpoint(), mint, codes, refresh_only=True)
