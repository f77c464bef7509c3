"""openid-client 6 (unmodified, from ``.rp-deps/``: ``make rp``) as a device: ``tests/e2e/node/
device_login.mjs`` run by Node, its device authorization response read first, its tokens (or error)
once the user decided."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "e2e" / "node" / "device_login.mjs"
OPENID_CLIENT = ROOT / ".rp-deps" / "node_modules" / "openid-client" / "package.json"
DEADLINE = 60.0  # seconds: discovery, the user's decision and two or three 5-second polls


@dataclass
class NodeDevice:
    process: asyncio.subprocess.Process
    started: dict[str, Any]

    async def outcome(self) -> dict[str, Any]:
        """The token response (``{"tokens": …}``) or ``{"error": …}`` openid-client ended with."""
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), DEADLINE)
        assert line, await self._stderr()
        result: dict[str, Any] = json.loads(line)
        return result

    async def _stderr(self) -> str:
        assert self.process.stderr is not None
        return (await self.process.stderr.read()).decode()


@asynccontextmanager
async def node_device(issuer: str, client_id: str, secret: str, scope: str) -> AsyncIterator[NodeDevice]:
    """openid-client started as a device (``secret`` "" for a public client, ``none`` auth)."""
    if not OPENID_CLIENT.exists():  # a failure, never a skip
        pytest.fail("openid-client is not installed: run `make rp` (make test does it)")
    process = await asyncio.create_subprocess_exec(
        "node",
        str(SCRIPT),
        issuer,
        client_id,
        secret,
        scope,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        line = await asyncio.wait_for(process.stdout.readline(), DEADLINE)
        if not line:
            pytest.fail(f"openid-client did not start: {(await process.stderr.read()).decode()}")
        yield NodeDevice(process, json.loads(line))
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
