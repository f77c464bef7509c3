"""The system under test for the benchmarks: embedded nats-server and redis-server, token-service
replicas as real processes (``python -m services.token``, as ``make run`` starts them), seeded tokens."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import nats
import redis.asyncio as aioredis
from nats.aio.client import Client as NATS

from services.stack.embedded import ServerProcess, die_with_parent, start_nats, start_redis
from services.token.issuance import first_records, mint_pair
from shared import subjects
from shared.config import Settings, load_settings
from shared.grants.storage import FirstPair
from shared.grants.store import RedisGrantStore
from shared.lifecycle import HealthReply
from shared.tokens import Signer, new_family_id

BENCH_CLIENT = "mavio_client_BenchClient00001"


@dataclass
class Stack:
    root: tempfile.TemporaryDirectory[str]
    nats: ServerProcess
    redis: ServerProcess
    settings: Settings
    env: dict[str, str]
    replicas: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @classmethod
    def start(cls, extra_env: dict[str, str] | None = None) -> Stack:
        root = tempfile.TemporaryDirectory(prefix="mavio-bench-")
        nats_server = start_nats(Path(root.name) / "nats")
        redis_server = start_redis(Path(root.name) / "redis", persist=False)
        env = {
            **os.environ,
            "MAVIO_NATS_URL": nats_server.url,
            "MAVIO_REDIS_URL": redis_server.url,
            "MAVIO_LOG_LEVEL": "warning",
            **(extra_env or {}),
        }
        return cls(root, nats_server, redis_server, load_settings(env), env)

    def spawn(self, module: str, name: str) -> subprocess.Popen[bytes]:
        log = open(Path(self.root.name) / f"{name}.log", "ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", module], env=self.env, stdout=log, stderr=log, preexec_fn=die_with_parent
        )
        self.replicas.append(proc)
        return proc

    async def scale_token(self, nc: NATS, count: int) -> list[int]:
        """Run exactly ``count`` token replicas (starting more as needed); their pids once all answer."""
        while len(self.replicas) < count:
            self.spawn("services.token", f"token-{len(self.replicas) + 1}")
        await wait_instances(nc, "token", count)
        return [p.pid for p in self.replicas]

    def stop_module(self, module: str) -> None:
        """Stop (SIGTERM, wait) every process started from ``module``."""
        mine = [p for p in self.replicas if module in p.args]  # type: ignore[operator]
        for proc in mine:
            proc.terminate()
        for proc in mine:
            proc.wait(30)
            self.replicas.remove(proc)

    def stop(self) -> None:
        for proc in self.replicas:
            proc.terminate()
        for proc in self.replicas:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.nats.stop()
        self.redis.stop()
        self.root.cleanup()


async def wait_instances(nc: NATS, service: str, count: int, timeout: float = 60.0) -> None:
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(seen)} of {count} {service} replicas answered")
        try:
            msg = await nc.request(subjects.op(service, "health"), b"{}", timeout=0.5)
            seen.add(msgspec.json.decode(msg.data, type=HealthReply).instance)
        except Exception:
            await asyncio.sleep(0.1)


async def seed_access_tokens(settings: Settings, count: int) -> list[str]:
    """``count`` live access tokens, each in its own family, written by the token store itself."""
    redis = aioredis.Redis.from_url(settings.redis_url)
    store = RedisGrantStore(
        redis,
        access_ttl=settings.access_token_ttl,
        refresh_ttl=settings.refresh_token_ttl,
        replay_window_ms=0,
        hold_ttl=settings.code_ttl,
    )
    signer, now, tokens = Signer(settings.hmac_key), int(time.time()), []
    for _ in range(count):
        first, token = grant_of(signer, user_id="usr_bench", now=now, settings=settings)
        await store.issue_first(first, now=now)
        tokens.append(token)
    await redis.aclose()
    return tokens


def grant_of(signer: Signer, *, user_id: str, now: int, settings: Settings) -> tuple[FirstPair, str]:
    """A new family's first pair for ``user_id`` of the bench client: (the pair, its access token)."""
    family = new_family_id()
    pair = mint_pair(family, signer)
    access, refresh = first_records(
        pair,
        family=family,
        client_id=BENCH_CLIENT,
        user_id=user_id,
        scope="meetings:read",
        now=now,
        access_ttl=settings.access_token_ttl,
        refresh_ttl=settings.refresh_token_ttl,
    )
    first = FirstPair(
        family=family,
        client_id=BENCH_CLIENT,
        user_id=user_id,
        scope="meetings:read",
        access_sig=pair.access_sig,
        access_record=access,
        refresh_sig=pair.refresh_sig,
        refresh_record=refresh,
    )
    return first, pair.access_token


async def seed_grants(
    settings: Settings, count: int, *, start: int = 0, refresh_ttl: int | None = None, batch: int = 5000
) -> list[tuple[str, str, str]]:
    """``count`` grants, each its own user and family, counted in every index as an exchange counts
    them: (client id, user id, access token). Users are numbered from ``start``."""
    redis = aioredis.Redis.from_url(settings.redis_url)
    store = RedisGrantStore(
        redis,
        access_ttl=settings.access_token_ttl,
        refresh_ttl=refresh_ttl or settings.refresh_token_ttl,
        replay_window_ms=0,
        hold_ttl=settings.code_ttl,
    )
    signer, out = Signer(settings.hmac_key), []
    try:
        for first_user in range(start, start + count, batch):
            now = int(time.time())
            grants = [
                grant_of(signer, user_id=f"usr_bench{i}", now=now, settings=settings)
                for i in range(first_user, min(start + count, first_user + batch))
            ]
            await store.import_first_pairs([g for g, _ in grants], now=now)
            out += [(BENCH_CLIENT, g.user_id, token) for g, token in grants]
    finally:
        await redis.aclose()
    return out


async def connect(settings: Settings) -> NATS:
    return await nats.connect(settings.nats_url)
