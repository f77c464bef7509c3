"""Mavio's token endpoint beside node-oidc-provider (the certified peer in ``../shared/peers``), in the
same run, driven by the same load generator (``bench.http_scenarios``): refresh with rotation and code
exchange with PKCE.

Mavio runs as real processes (gateway, token, registry on the embedded servers); its codes are written as
the authorize contract says (``CodeRecord`` with an S256 challenge), its refresh tokens come from such
codes exchanged at ``/oauth/token``. The peer's refresh tokens come from its ``mint_refresh_tokens.py``;
its codes from the same headless authorization flow (``bench.peer_codes``), stopped before the exchange."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import nats
import redis.asyncio as aioredis

from bench.ceilings import peers_dir
from bench.http_scenarios import TokenEndpoint, exchange_load, refresh_load
from bench.interleave import Side, interleaved
from bench.load import Window
from bench.peer_codes import PEER_REDIRECT, peer_codes
from bench.stack import Stack, wait_instances
from bench.wrk_load import wrk_path
from services.stack.embedded import die_with_parent, free_port, wait_port
from shared.accounts.passwords import Passwords
from shared.accounts.service import AccountService
from shared.accounts.store import RedisAccountStore
from shared.apps.settings import CONFIDENTIAL, PUBLIC
from shared.bus import Bus
from shared.grants import keys as grant_keys
from shared.grants.records import CodeRecord
from shared.messages.registry import CreateAppRequest
from shared.pkce import s256_challenge
from shared.registry_client import RegistryClient
from shared.tokens import Signer, mint, new_family_id

REDIRECT = "http://127.0.0.1:9/cb"


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
                scopes=["meetings:read"],
                client_type=client_type,
            )
        )
    finally:
        await nc.drain()
        await redis.aclose()
    return MavioApp(reply.app.client_id, reply.client_secret, owner.id)


async def mavio_codes(stack: Stack, app: MavioApp, count: int) -> list[tuple[str, str]]:
    """``count`` authorization codes with S256 challenges, stored as the authorize service stores them
    (each its own family): (code, code_verifier) pairs."""
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
                    scope="meetings:read",
                    code_challenge=s256_challenge(verifier),
                    code_challenge_method="S256",
                    issued_at=now,
                    expires_at=now + 600,
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


def _mavio_sides(stack: Stack, a: argparse.Namespace, tmp: Path) -> list[tuple[Side, list[str]]]:
    """Mavio's processes started and fed: its confidential app's side and its public app's (refresh
    only, ``client_id`` alone, beside the confidential one), each with refresh tokens minted for it."""
    target = prepare_mavio(stack, a.http_concurrency, tmp, gateways=a.gateways, token_replicas=a.http_tokens)
    base = target.url.removesuffix("/oauth/token")
    public = asyncio.run(_mavio_app(stack, client_type=PUBLIC))
    sides = []
    for name, app in (("mavio", target.app), ("mavio public", public)):

        async def codes(n: int, app: MavioApp = app) -> list[tuple[str, str]]:
            return await mavio_codes(stack, app, n)

        async def mint(n: int, app: MavioApp = app) -> list[str]:
            return await _mavio_tokens(stack, base, app, n)

        endpoint = TokenEndpoint(target.url, app.client_id, app.secret, REDIRECT, target.pids)
        side = Side(name, endpoint, mint, codes, refresh_only=app is public)
        sides.append((side, asyncio.run(mint(a.http_concurrency))))
    return sides


@contextlib.contextmanager
def _oidc_provider(peers: Path, a: argparse.Namespace, tmp: Path) -> Iterator[tuple[Side, list[str]]]:
    """node-oidc-provider started (stopped on exit): the side, and ``a.http_concurrency`` refresh tokens
    minted by its ``mint_refresh_tokens.py``."""
    port = free_port()
    env = {**os.environ, "PORT": str(port)}
    node = subprocess.Popen(
        ["/bin/bash", str(peers / "oidc-provider" / "run.sh")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )
    try:
        wait_port(port, node, timeout=300)  # the first run installs the npm package
        rt_file = tmp / "peer_rt.txt"
        base = f"http://127.0.0.1:{port}"
        mint_cmd = [sys.executable, str(peers / "oidc-provider" / "mint_refresh_tokens.py")]
        mint_cmd += ["-n", str(a.http_concurrency), "-o", str(rt_file), "--base", base]
        subprocess.run(mint_cmd, check=True, capture_output=True, timeout=300)
        # run.sh execs node: same pid
        endpoint = TokenEndpoint(
            f"{base}/token", "bench-client", "bench-secret", PEER_REDIRECT, {"node": node.pid}
        )

        async def codes(n: int) -> list[tuple[str, str]]:
            return await peer_codes(base, n)

        async def mint(n: int) -> list[str]:
            out = tmp / "peer_rt_wrk.txt"
            cmd = [*mint_cmd[:2], "-n", str(n), "-o", str(out), "--base", base]
            await asyncio.to_thread(subprocess.run, cmd, check=True, capture_output=True, timeout=300)
            return out.read_text().split()

        yield Side("oidc-provider", endpoint, mint, codes), rt_file.read_text().split()
    finally:
        node.terminate()
        node.wait(20)


async def _python_load(side: Side, tokens: list[str], a: argparse.Namespace) -> dict[str, Window]:
    """``--python-load``: one server's windows with the aiohttp load generator, one server after the other."""
    refresh, exchange = f"refresh {side.name}", f"exchange {side.name}"
    out = {refresh: await refresh_load(side.endpoint, tokens, a, label=refresh)}
    if not side.refresh_only:
        out[exchange] = await exchange_load(side.endpoint, side.codes, a, label=exchange)
    return out


def use_wrk(a: argparse.Namespace) -> bool:
    """The HTTP windows run under wrk unless ``--python-load`` asks for the aiohttp load generator."""
    return not a.python_load and wrk_path() is not None


def run_peer_comparison(stack: Stack, a: argparse.Namespace) -> dict[str, Any]:
    """Mavio's confidential and public clients beside node-oidc-provider; without the peer
    (``../shared/peers`` not found), Mavio's own rows only."""
    peers = peers_dir()
    with tempfile.TemporaryDirectory(prefix="mavio-bench-peer-") as name:
        driver = "wrk" if use_wrk(a) else "the aiohttp load generator"
        print(
            f"token endpoint over HTTP, {a.http_concurrency} workers, client_secret_basic "
            f"(public client: client_id alone); load: {driver}",
            flush=True,
        )
        tmp = Path(name)
        fed = _mavio_sides(stack, a, tmp)
        if peers is None:
            print("../shared/peers not found (MAVIO_PEERS_DIR): Mavio's rows only, no peer", flush=True)
            return asyncio.run(_compared(fed, a))
        with _oidc_provider(peers, a, tmp) as peer:
            return asyncio.run(_compared([*fed, peer], a))


async def _compared(fed: list[tuple[Side, list[str]]], a: argparse.Namespace) -> dict[str, Window]:
    """Under wrk, every side's windows in turns; with ``--python-load``, one side after the other."""
    if use_wrk(a):
        return await interleaved([side for side, _ in fed], a)
    results: dict[str, Window] = {}
    for side, tokens in fed:
        results |= await _python_load(side, tokens, a)
    return results
