"""Signing key rotation with two token replicas, through the operator CLI (``mavio-oauth keys``), and the
private keys never in the clear anywhere: after a full flow and a rotation, no private key material
(PEM, a JWK ``d``) in Redis (every key scanned), in any log line (debug level, every process), on the
bus (every message of the run) or in JetStream (every stream read)."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pytest
from joserfc import jws
from nats.aio.msg import Msg

from shared import keys
from shared.logging import configure_logging
from shared.sealing import Sealer
from shared.signing.keyset import KeySet, decode_keyset, open_private
from tests.support.oidc import fetch_jwks, oidc_party, save_oidc_code, userinfo, validated
from tests.support.polling import eventually
from tests.support.system import System, start_system
from tests.support.token_flow import Party, consent_code, exchange, redis_dump, refresh

CLI = str(Path(sys.executable).with_name("mavio-oauth"))
PEM_MARK = b"PRIVATE KEY"


@dataclass
class Run:
    system: System
    logs: io.StringIO
    bus: list[bytes] = field(default_factory=list)
    private: set[bytes] = field(default_factory=set)  # every private key's "d", as its base64url text

    async def remember_private_keys(self) -> KeySet:
        keyset = await signing_keys(self.system)
        sealer = Sealer(self.system.settings.encryption_key)
        for record in keyset.keys:
            if record.sealed:
                self.private.add(open_private(record, sealer).as_dict(private=True)["d"].encode())
        return keyset


@pytest.fixture(scope="module")
async def run() -> AsyncIterator[Run]:
    buffer = io.StringIO()
    configure_logging(json=True, level="debug", stream=buffer, cache=False)
    system = await start_system({"MAVIO_LOG_LEVEL": "debug"})
    out = Run(system, buffer)

    async def sniff(msg: Msg) -> None:
        out.bus.append(msg.data + b"".join(f"{k}:{v}".encode() for k, v in (msg.headers or {}).items()))

    await system.nc.subscribe(">", cb=sniff)  # the harness may hear everything
    await system.start_service("token")  # a second token replica
    try:
        yield out
    finally:
        await system.close()
        configure_logging(json=False, level="warning", cache=False)


async def signing_keys(system: System) -> KeySet:
    raw = await system.redis.get(keys.signing_keys())
    assert raw is not None
    return decode_keyset(raw)


async def cli(system: System, *args: str) -> tuple[int, str, str]:
    environ = {**os.environ, **system.servers.env("cli")}  # the operator's own bus user
    proc = await asyncio.create_subprocess_exec(
        CLI, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=environ
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def kid_of(id_token: str) -> str:
    kid: str = jws.extract_compact(id_token.encode()).protected["kid"]
    return kid


async def fresh_id_token(system: System, party: Party) -> dict[str, Any]:
    status, _, token = await exchange(system, party, await save_oidc_code(system, party, nonce="n"))
    assert status == 200, token
    return token


async def test_rotation_switches_every_token_replica_and_keeps_old_id_tokens_valid(run: Run) -> None:
    system = run.system
    rs256, es256 = await oidc_party(system, alg="RS256"), await oidc_party(system, alg="ES256")
    before = await run.remember_private_keys()
    states = {(r.alg, r.state): r.kid for r in before.keys}
    old = {party.client_id: await fresh_id_token(system, party) for party in (rs256, es256)}
    assert {kid_of(t["id_token"]) for t in old.values()} == {
        states["RS256", "current"],
        states["ES256", "current"],
    }
    published = {k["kid"] for k in (await fetch_jwks(system))["keys"]}
    assert {states["RS256", "next"], states["ES256", "next"]} <= published  # known before they sign

    status, listing, err = await cli(system, "keys", "list")
    assert status == 0, err
    assert states["RS256", "current"] in listing and "current" in listing and "next" in listing
    status, out, err = await cli(system, "keys", "rotate")
    assert status == 0 and "rotated" in out, err
    await run.remember_private_keys()

    for party in (rs256, es256):  # signed before the rotation: still valid against the JWKS
        await validated(system, party, old[party.client_id], nonce="n")
    expected = {rs256.client_id: states["RS256", "next"], es256.client_id: states["ES256", "next"]}

    async def kids_of_a_burst() -> set[str]:
        # 20 exchanges per app through the queue group: both replicas answer some (the chance that one
        # answers none of 40 is 2**-39); without the rotation event, one would sign with the old key
        # for up to a minute (its periodic reload), far past this poll's deadline.
        tokens = [await fresh_id_token(system, party) for party in (rs256, es256) for _ in range(20)]
        return {kid_of(t["id_token"]) for t in tokens}

    await eventually(kids_of_a_burst, lambda kids: kids == set(expected.values()))
    for party in (rs256, es256):
        await validated(system, party, await fresh_id_token(system, party), nonce="n")
    retired = {r.kid for r in (await signing_keys(system)).keys if r.state == "retired"}
    assert retired == {states["RS256", "current"], states["ES256", "current"]}
    assert retired <= {k["kid"] for k in (await fetch_jwks(system))["keys"]}


async def test_no_private_key_material_in_redis_logs_bus_or_jetstream(run: Run) -> None:
    system = run.system
    party = await oidc_party(system)
    status, _, token = await exchange(
        system, party, await consent_code(system, party, scope="openid profile email")
    )
    assert status == 200 and token["id_token"]
    status, _, renewed = await refresh(system, party, token["refresh_token"])
    assert status == 200 and renewed["id_token"]
    status, _, _ = await userinfo(system, headers={"Authorization": f"Bearer {renewed['access_token']}"})
    assert status == 200
    status, _, err = await cli(system, "keys", "rotate")
    assert status == 0, err
    await run.remember_private_keys()
    assert len(run.private) >= 4

    dump = await redis_dump(system)
    assert (await signing_keys(system)).keys[0].public["kid"].encode() in dump  # the scan sees the key set
    logs = run.logs.getvalue().encode()
    assert b"signing key" in logs  # the log captured the key handling
    stored = await jetstream_messages(system)
    assert run.bus and stored
    for where, blob in (("redis", dump), ("logs", logs), ("bus", b"\n".join(run.bus)), ("jetstream", stored)):
        assert PEM_MARK not in blob, where
        assert b'"d":' not in blob, where
        for d in run.private:
            assert d[:32] not in blob, f"a private key in {where}"


async def jetstream_messages(system: System) -> bytes:
    """Every message of every JetStream stream, headers and data."""
    js = system.nc.jetstream()
    out: list[bytes] = []
    for info in await js.streams_info():
        state = info.state
        for seq in range(state.first_seq, state.last_seq + 1):
            try:
                msg = await js.get_msg(info.config.name or "", seq)
            except Exception:  # a deleted message (a work queue's acknowledged command)
                continue
            out.append(msgspec.json.encode(msg.headers or {}) + (msg.data or b""))
    return b"\n".join(out)
