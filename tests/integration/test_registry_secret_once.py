"""The secret-once rule: after an app is registered (and its secret regenerated), no Redis key or
value and no log line of any process holds the client secret. Registry and gateway run as real
processes with debug logging, so every line they write is inspected."""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis

from services.stack.embedded import free_port
from services.stack.supervisor import Supervisor, child_env
from shared.accounts.passwords import Passwords
from shared.accounts.service import AccountService
from shared.accounts.store import RedisAccountStore
from shared.config import DEV_HMAC_KEY
from shared.tokens import Signer
from tests.support.factories import code_by_id, csrf_of, image_bytes
from tests.support.polling import eventually
from tests.support.system import Servers

APPS = "/settings/developer/oauth-apps"
PASSWORD = "secret-once password"


async def _wait_http(url: str, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=1).close())
            return
        except Exception:
            assert asyncio.get_running_loop().time() < deadline, f"{url} did not come up"
            await asyncio.sleep(0.2)


async def _readiness(base: str) -> dict[str, bool]:
    """The gateway's ``/readyz`` checks (``registry``: the registry answers on the bus)."""
    async with aiohttp.ClientSession() as http, http.get(base + "/readyz") as resp:
        checks: dict[str, bool] = (await resp.json())["checks"]
        return checks


async def dump_redis(redis: Any) -> bytes:
    """Every key and every value of every type, concatenated."""
    out = bytearray()
    async for key in redis.scan_iter(count=1000):
        out += key + b"\n"
        kind = (await redis.type(key)).decode()
        if kind == "string":
            out += await redis.get(key) or b""
        elif kind == "hash":
            for field, value in (await redis.hgetall(key)).items():
                out += field + b"=" + value + b"\n"
        elif kind == "set":
            out += b"\n".join(await redis.smembers(key))
        elif kind == "zset":
            out += b"\n".join(m for m, _ in await redis.zrange(key, 0, -1, withscores=True))
        elif kind == "list":
            out += b"\n".join(await redis.lrange(key, 0, -1))
        elif kind == "stream":
            for _, fields in await redis.xrange(key):
                out += b"".join(k + v for k, v in fields.items())
        else:
            raise AssertionError(f"unexpected type {kind} for {key!r}")
        out += b"\n"
    return bytes(out)


async def _register_and_regenerate(base: str, email: str) -> list[str]:
    secrets: list[str] = []
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(base + "/login") as resp:
            token = csrf_of(await resp.text())
        data = {"csrf_token": token, "email": email, "password": PASSWORD}
        async with http.post(base + "/login", data=data, allow_redirects=False) as resp:
            assert resp.status == 303
        async with http.get(base + APPS + "/new") as resp:
            token = csrf_of(await resp.text())
        form = aiohttp.FormData()
        for key, value in [
            ("csrf_token", token),
            ("name", "Secret Keeper"),
            ("homepage_url", "https://keeper.example"),
            ("redirect_uris", "https://keeper.example/cb"),
            ("scopes", "users:read"),
        ]:
            form.add_field(key, value)
        form.add_field("logo", image_bytes(), filename="l.png", content_type="image/png")
        async with http.post(base + APPS, data=form) as resp:  # 303 to the one-time view, followed
            assert resp.status == 200 and resp.url.path.endswith("/credentials")
            codes = code_by_id(await resp.text())
        client_id = codes["client-id"]
        secrets.append(codes["client-secret"])
        async with http.get(f"{base}{APPS}/{client_id}/secret") as resp:
            token = csrf_of(await resp.text())
        data = {"csrf_token": token, "keep_old": "3600"}
        async with http.post(f"{base}{APPS}/{client_id}/secret", data=data) as resp:
            assert resp.status == 200 and resp.url.path.endswith("/credentials")
            secrets.append(code_by_id(await resp.text())["client-secret"])
        body = {"name": "Api Keeper", "homepage_url": "https://k.example", "redirect_uris": ["https://k.example/cb"],
                "scopes": ["users:read"]}  # fmt: skip
        async with http.post(base + "/api/v1/oauth-apps", json=body) as resp:
            assert resp.status == 201
            secrets.append((await resp.json())["client_secret"])
    return secrets


async def test_no_redis_value_and_no_log_line_holds_a_client_secret() -> None:
    servers = Servers.start()
    logs = tempfile.TemporaryDirectory(prefix="mavio-secret-once-")
    port = free_port()
    env = child_env({
        "MAVIO_NATS_URL": servers.nats.url,
        "MAVIO_REDIS_URL": servers.redis.url,
        "MAVIO_HTTP_PORT": str(port),
        "MAVIO_LOG_LEVEL": "debug",
    })  # fmt: skip
    env.pop("MAVIO_PUBLIC_URL", None)
    sup = Supervisor(env, log_dir=Path(logs.name), identities=servers.identities())
    redis = aioredis.Redis.from_url(servers.redis.url, **servers.redis_auth())
    try:
        sup.spawn("registry", "services.registry")
        sup.spawn("gateway", "services.gateway")
        base = f"http://127.0.0.1:{port}"
        await _wait_http(base + "/healthz")
        email = "keeper@example.com"
        await AccountService(RedisAccountStore(redis), Passwords()).create(
            email=email, name="Keeper", plan="free", password=PASSWORD
        )
        await eventually(lambda: _readiness(base), lambda checks: checks.get("registry") is True)
        secrets = await _register_and_regenerate(base, email)
        dump = await dump_redis(redis)
    finally:
        sup.stop_all()
        await redis.aclose()
        servers.stop()
    signer = Signer(os.environ.get("MAVIO_TOKEN_HMAC_KEY", DEV_HMAC_KEY).encode())
    for secret in secrets:
        body = secret.removeprefix("mavio_cs_")
        assert secret.encode() not in dump and body[:24].encode() not in dump
        assert signer.sign(secret).encode() in dump  # the check reads values: the hash is there
    lines = "".join(p.read_text(errors="replace") for p in Path(logs.name).glob("*.log"))
    logs.cleanup()
    assert re.search(r"path=/settings/developer/oauth-apps", lines), "debug logs were not captured"
    for secret in secrets:
        assert secret.removeprefix("mavio_cs_")[:24] not in lines
