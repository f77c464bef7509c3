"""Refresh-with-rotation over HTTP, Mavio beside node-oidc-provider (the certified peer in
``../shared/peers``), each driven by the peers' own ``loadgen.py refresh`` in the same run.

Mavio runs as real processes (gateway, token, registry on the embedded servers); its refresh tokens come
from codes written as the authorize contract says, exchanged at ``/oauth/token``. The peer's come from
its ``mint_refresh_tokens.py``. Each worker rotates its own token chain (client_secret_basic)."""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import nats
import redis.asyncio as aioredis

from bench.ceilings import _MEDIAN, peers_dir
from bench.stack import Stack, wait_instances
from services.stack.embedded import die_with_parent, free_port, wait_port
from shared.accounts.passwords import Passwords
from shared.accounts.service import AccountService
from shared.accounts.store import RedisAccountStore
from shared.bus import Bus
from shared.grants import keys as grant_keys
from shared.grants.records import CodeRecord
from shared.messages.registry import CreateAppRequest
from shared.registry_client import RegistryClient
from shared.tokens import Signer, mint, new_family_id

REDIRECT = "http://127.0.0.1:9/cb"


async def _mavio_tokens(stack: Stack, base: str, count: int) -> tuple[str, str, list[str]]:
    """An app and ``count`` refresh tokens, each from its own authorization (its own family)."""
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
            )
        )
        client_id, secret, signer = reply.app.client_id, reply.client_secret, Signer(stack.settings.hmac_key)
        tokens = []
        async with aiohttp.ClientSession() as http:
            for _ in range(count):
                family, now = new_family_id(), int(time.time())
                code = mint("code", family)
                record = CodeRecord(
                    family=family,
                    client_id=client_id,
                    user_id=owner.id,
                    redirect_uri=REDIRECT,
                    scope="meetings:read",
                    issued_at=now,
                    expires_at=now + 600,
                )
                await redis.set(
                    grant_keys.code(family, signer.sign(code)), msgspec.json.encode(record), ex=600
                )
                form = {
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": REDIRECT,
                    "client_id": client_id,
                    "client_secret": secret,
                }
                async with http.post(f"{base}/oauth/token", data=form) as resp:
                    tokens.append((await resp.json())["refresh_token"])
        return client_id, secret, tokens
    finally:
        await nc.drain()
        await redis.aclose()


def _loadgen(
    peers: Path,
    a: argparse.Namespace,
    *,
    url: str,
    client_id: str,
    secret: str,
    rt_file: Path,
    pids: list[int],
    label: str,
) -> dict[str, Any]:
    cmd = [sys.executable, str(peers / "loadgen.py"), "refresh", "--token-url", url, "--client-id", client_id]
    cmd += [
        "--client-secret",
        secret,
        "--auth",
        "basic",
        "-c",
        str(a.peer_concurrency),
        "-d",
        str(a.duration),
    ]
    cmd += [
        "-w",
        str(a.warmup),
        "-r",
        str(a.repeats),
        "--max-windows",
        str(a.repeats),
        "--rt-file",
        str(rt_file),
    ]
    cmd += ["--server-pid", *map(str, pids)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    for line in (done.stdout + done.stderr).splitlines():
        if "window" in line or "MEDIAN" in line:
            print(f"  [{label}] {line.strip()}", flush=True)
    found = _MEDIAN.search(done.stdout)
    if found is None:
        return {"error": (done.stdout + done.stderr)[-400:]}
    return {"rps": float(found.group(1)), "p50_ms": float(found.group(2)), "p99_ms": float(found.group(3))}


@dataclass(frozen=True)
class MavioTarget:
    """Mavio's refresh stack, running: where to send requests and whom to measure."""

    url: str
    client_id: str
    secret: str
    rt_file: Path
    pids: dict[str, int]


def prepare_mavio(stack: Stack, tokens: int, tmp: Path) -> MavioTarget:
    """Start registry, token and gateway processes and mint ``tokens`` refresh tokens (one family each)."""
    port = free_port()
    stack.env |= {"MAVIO_HTTP_PORT": str(port), "MAVIO_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    procs = {
        "registry": stack.spawn("services.registry", "registry"),
        "token-1": stack.spawn("services.token", "token-1"),
        "gateway": stack.spawn("services.gateway", "gateway"),
    }
    base = f"http://127.0.0.1:{port}"

    async def ready_and_mint() -> tuple[str, str, list[str]]:
        nc = await nats.connect(stack.settings.nats_url)
        await wait_instances(nc, "registry", 1)
        await wait_instances(nc, "token", 1)
        await nc.drain()
        wait_port(port, procs["gateway"])
        return await _mavio_tokens(stack, base, tokens)

    client_id, secret, minted = asyncio.run(ready_and_mint())
    rt_file = tmp / "mavio_rt.txt"
    rt_file.write_text("\n".join(minted) + "\n")
    pids = {name: p.pid for name, p in procs.items()}
    pids |= {"nats-server": stack.nats.proc.pid, "redis-server": stack.redis.proc.pid}
    return MavioTarget(f"{base}/oauth/token", client_id, secret, rt_file, pids)


def _run_mavio(stack: Stack, peers: Path, a: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    target = prepare_mavio(stack, a.peer_concurrency + 10, tmp)
    return _loadgen(
        peers,
        a,
        url=target.url,
        client_id=target.client_id,
        secret=target.secret,
        rt_file=target.rt_file,
        pids=list(target.pids.values()),
        label="mavio refresh",
    )


def _run_oidc_provider(peers: Path, a: argparse.Namespace, tmp: Path) -> dict[str, Any]:
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
        mint_cmd = [
            sys.executable,
            str(peers / "oidc-provider" / "mint_refresh_tokens.py"),
            "-n",
            str(a.peer_concurrency + 10),
            "-o",
            str(rt_file),
            "--base",
            base,
        ]
        subprocess.run(mint_cmd, check=True, capture_output=True, timeout=300)
        return _loadgen(
            peers,
            a,
            url=f"{base}/token",
            client_id="bench-client",
            secret="bench-secret",
            rt_file=rt_file,
            pids=[node.pid],  # run.sh execs node: same pid
            label="oidc-provider refresh",
        )
    finally:
        node.terminate()
        node.wait(20)


def run_peer_comparison(stack: Stack, a: argparse.Namespace) -> dict[str, Any]:
    peers = peers_dir()
    if peers is None:
        return {"peer": "../shared/peers not found"}
    with tempfile.TemporaryDirectory(prefix="mavio-bench-peer-") as name:
        print(
            f"refresh-with-rotation over HTTP, {a.peer_concurrency} workers, client_secret_basic", flush=True
        )
        mavio = _run_mavio(stack, peers, a, Path(name))
        peer = _run_oidc_provider(peers, a, Path(name))
    return {"mavio refresh": mavio, "oidc-provider refresh": peer}
