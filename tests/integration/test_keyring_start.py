"""The token service's signing keys at start (``Keyring.start``) while Redis is not reachable yet (a
container started before Redis accepts connections): asked again, with a warning line each time, and
loaded once Redis is up; never a crash that the container runtime would have to restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import redis.asyncio as aioredis
import structlog

from services.stack.embedded import start_redis
from services.token.keyring import Keyring
from shared.config import load_settings
from shared.sealing import Sealer
from shared.signing.store import SigningKeyStore
from tests.support.polling import eventually
from tests.support.system import unused_port


async def test_the_signing_keys_are_awaited_until_redis_answers(tmp_path: Path) -> None:
    port = unused_port()
    client = aioredis.Redis.from_url(f"redis://127.0.0.1:{port}", socket_connect_timeout=1)
    settings = load_settings({})
    keyring = Keyring(SigningKeyStore(client), Sealer(settings.encryption_key), id_token_ttl=60)
    server = None
    try:
        with structlog.testing.capture_logs() as logs:
            starting = asyncio.create_task(keyring.start())

            async def said() -> bool:  # it has failed and said so at least once
                return any("redis (signing keys) not available yet" in e["event"] for e in logs)

            await eventually(said, timeout=30)
            assert not starting.done()
            server = start_redis(tmp_path / "redis", port=port, persist=False)
            await asyncio.wait_for(starting, 60)
        assert sorted(kid.split("-")[0] for kid in keyring.kids()) == ["es256", "rs256"]
    finally:
        await keyring.close()
        await client.aclose()
        if server is not None:
            server.stop()
