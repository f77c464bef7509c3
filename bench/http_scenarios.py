"""The token endpoint over HTTP, driven the same way for Mavio and for node-oidc-provider.

- refresh with rotation: ``concurrency`` workers, each rotating its own chain (client_secret_basic; a
  public client: ``client_id`` alone), duration-based windows (``bench.load.measure``);
- code exchange with PKCE: authorization codes prepared before each window, then exchanged
  ``concurrency`` at a time; count-based windows (``bench.load.burst``), since each code is single use and
  the peer's in-memory store keeps only a couple of thousand entries.

The load generator is aiohttp in this process (a few hundred requests per second here: far from its
limit; its CPU is reported as ``requester``).
"""

from __future__ import annotations

import argparse
import base64
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp

from bench.load import Window, burst, measure, median_window

Codes = Callable[[int], Awaitable[list[tuple[str, str]]]]  # n -> [(code, code_verifier)]


@dataclass(frozen=True)
class TokenEndpoint:
    url: str
    client_id: str
    secret: str
    redirect_uri: str
    pids: dict[str, int]

    def headers(self) -> dict[str, str]:
        """HTTP Basic for a confidential client; none for a public one (``secret`` empty)."""
        if not self.secret:
            return {}
        basic = base64.b64encode(f"{self.client_id}:{self.secret}".encode()).decode()
        return {"Authorization": f"Basic {basic}"}

    def form_auth(self) -> dict[str, str]:
        """A public client's authentication: ``client_id`` in the body alone (RFC 6749 §2.1)."""
        return {} if self.secret else {"client_id": self.client_id}

    def wrk_auth(self) -> dict[str, str]:
        """The wrk scripts' environment for this client's authentication."""
        if not self.secret:
            return {"MAVIO_WRK_CLIENT_ID": self.client_id}
        return {"MAVIO_WRK_AUTH": self.headers()["Authorization"]}


def _session(concurrency: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency))


async def refresh_load(
    target: TokenEndpoint, tokens: list[str], a: argparse.Namespace, *, label: str
) -> Window:
    chains = list(tokens[: a.http_concurrency])
    headers = target.headers()
    pids = target.pids | {"requester": os.getpid()}
    async with _session(a.http_concurrency) as http:

        async def one(i: int) -> bool:
            form = {"grant_type": "refresh_token", "refresh_token": chains[i], **target.form_auth()}
            async with http.post(target.url, data=form, headers=headers) as resp:
                if resp.status != 200:
                    return False
                chains[i] = (await resp.json())["refresh_token"]
                return True

        return await measure(
            one,
            concurrency=len(chains),
            warmup=a.warmup,
            duration=a.duration,
            repeats=a.repeats,
            pids=pids,
            label=label,
        )


async def exchange_load(target: TokenEndpoint, codes: Codes, a: argparse.Namespace, *, label: str) -> Window:
    headers = target.headers()
    pids = target.pids | {"requester": os.getpid()}
    windows: list[Window] = []
    async with _session(a.http_concurrency) as http:

        def op(code: str, verifier: str) -> Callable[[], Awaitable[bool]]:
            async def one() -> bool:
                form = {
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": target.redirect_uri,
                    "code_verifier": verifier,
                }
                async with http.post(target.url, data=form, headers=headers) as resp:
                    body = await resp.read()
                    return resp.status == 200 and b'"refresh_token"' in body

            return one

        for r in range(a.exchange_windows + 1):  # the first round warms up
            prepared = await codes(a.codes_per_window)
            w = await burst([op(c, v) for c, v in prepared], concurrency=a.http_concurrency, pids=pids)
            if r:
                print(f"  [{label}] window {r}: {w.line()}", flush=True)
                windows.append(w)
    return median_window(windows)
