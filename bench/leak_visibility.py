"""A leak report's revocation visible in every cache (issue 27): three resource servers, each a
``shared.verify_client.TokenVerifier`` with its event-evicted cache on its own bus connection, hold a
live access token; a test reporter (its own P-256 key, trusted through ``MAVIO_LEAK_REPORTER_KEYS_FILE``)
posts a signed report of it to the real gateway's ``POST /oauth/leaked-credentials``; from the HTTP
reply, each cache is polled until it rejects the token. The figure is that time over every cache and
every report (a rejection already there at the reply counts as 0).

    python -m bench.leak_visibility [--reports 100]

Runs on its own stack (nats-server, redis-server, a gateway, token and revocation processes); part of
``make bench`` too (``bench.__main__``)."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import time
from pathlib import Path

import aiohttp
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bench.measures import Measure
from bench.stack import Stack, connect, seed_grants, wait_instances
from bench.visibility import Caches
from services.stack.embedded import free_port
from shared.leak_reporters import KEY_ID_HEADER, SIGNATURE_HEADER

KEY_ID = "bench-reporter"
PATH = "/oauth/leaked-credentials"


def write_key_list(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    entry = {"key_identifier": KEY_ID, "key": pem.decode(), "is_current": True}
    path.write_text(json.dumps({"public_keys": [entry]}))


def signed_report(key: ec.EllipticCurvePrivateKey, token: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        [{"token": token, "type": "mavio_access_token", "url": "https://bench", "source": "content"}]
    )
    raw = body.encode()
    signature = base64.b64encode(key.sign(raw, ec.ECDSA(hashes.SHA256()))).decode()
    return raw, {KEY_ID_HEADER: KEY_ID, SIGNATURE_HEADER: signature, "Content-Type": "application/json"}


async def _wait_http(http: aiohttp.ClientSession, url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            async with http.get(url + "/healthz") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the gateway did not start")
        await asyncio.sleep(0.1)


async def leak_visibility(
    stack: Stack, base_url: str, key: ec.EllipticCurvePrivateKey, reports: int, *, caches: int = 3
) -> Measure:
    grants = await seed_grants(stack.settings, reports, start=20_000_000)
    async with aiohttp.ClientSession() as http:
        await _wait_http(http, base_url)
        held = await Caches.open(stack.settings.nats_url, caches)
        try:
            for _, _, token in grants:
                await held.hold(token)
                body, headers = signed_report(key, token)
                async with http.post(base_url + PATH, data=body, headers=headers) as resp:
                    labels = await resp.json()
                replied = time.perf_counter()
                if resp.status != 200 or labels[0]["label"] != "true_positive":
                    raise RuntimeError(f"report answered {resp.status} {labels}")
                await held.time_rejection(token, replied)
        finally:
            await held.close()
    return held.measure(
        "leak report: grant inactive in every verify_client cache, from the report's reply",
        "leak report visibility",
        "reports",
        reports,
    )


async def run_leak_visibility(reports: int) -> Measure:
    """Its own stack: the gateway trusts a fresh reporter key; token and revocation answer."""
    key = ec.generate_private_key(ec.SECP256R1())
    port = free_port()
    stack = Stack.start({"MAVIO_HTTP_PORT": str(port), "MAVIO_PUBLIC_URL": f"http://127.0.0.1:{port}"})
    keys = Path(stack.root.name) / "leak-reporters.json"
    write_key_list(keys, key)
    stack.env["MAVIO_LEAK_REPORTER_KEYS_FILE"] = str(keys)
    try:
        for module, name in (("services.token", "token"), ("services.revocation", "revocation")):
            stack.spawn(module, name)
        nc = await connect(stack.settings)
        try:
            await wait_instances(nc, "token", 1)
            await wait_instances(nc, "revocation", 1)
        finally:
            await nc.drain()
        stack.spawn("services.gateway", "gateway")
        print(f"leak report visibility: {reports} reports, 3 caches", flush=True)
        return await leak_visibility(stack, f"http://127.0.0.1:{port}", key, reports)
    finally:
        stack.stop()


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.leak_visibility", description=__doc__)
    p.add_argument("--reports", type=int, default=100)
    a = p.parse_args(argv)
    measure = asyncio.run(run_leak_visibility(a.reports))
    print(
        f"{measure.scenario}: {measure.figure} (goal {measure.goal}: {'met' if measure.met else 'not met'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
