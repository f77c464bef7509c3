"""Mavio's token endpoint beside node-oidc-provider (the certified peer in ``../shared/peers``), in the
same run, driven by the same load generator (``bench.http_scenarios``, ``bench.wrk_load``): refresh with
rotation, code exchange with PKCE, code exchange with ``openid``; and goal 2's rows driven by the peers'
``loadgen.py`` (``bench.loadgen_rows``).

Mavio runs as ``make run`` starts it (``bench.shipped``) and is fed over HTTP only, as a user
(``bench.http_user``; ``bench.shipped_sides``). The stack the bench used to assemble for itself
(``prepare_mavio``: gateway, token, registry, codes written straight into Redis as the authorize
contract says) stays as one breakdown row, ``mavio bench-only``, and for ``make profile``. The peer's
refresh tokens come from its ``mint_refresh_tokens.py``; its codes from the same headless authorization
flow (``bench.peer_codes``), stopped before the exchange."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.bench_only import bench_only_side
from bench.ceilings import peers_dir
from bench.http_scenarios import TokenEndpoint, exchange_load, refresh_load
from bench.interleave import Side, interleaved
from bench.load import Window
from bench.loadgen_rows import loadgen_rows
from bench.peer_codes import PEER_REDIRECT, peer_codes
from bench.shipped import ShippedStack
from bench.shipped_sides import shipped_stacks, user_sides
from bench.stack import Stack
from bench.wrk_load import wrk_path
from services.stack.embedded import die_with_parent, free_port, wait_port


@contextlib.contextmanager
def _oidc_provider(peers: Path, tmp: Path) -> Iterator[Side]:
    """node-oidc-provider started (stopped on exit): its side, refresh tokens minted by its
    ``mint_refresh_tokens.py``."""
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
        base = f"http://127.0.0.1:{port}"
        # run.sh execs node: same pid
        endpoint = TokenEndpoint(
            f"{base}/token", "bench-client", "bench-secret", PEER_REDIRECT, {"node": node.pid}
        )

        async def codes(n: int) -> list[tuple[str, str]]:
            return await peer_codes(base, n)

        async def oidc_codes(n: int) -> list[tuple[str, str]]:  # it signs an RS256 ID token for openid
            return await peer_codes(base, n, scope="openid offline_access api")

        async def mint(n: int) -> list[str]:
            out = tmp / "peer_rt.txt"
            cmd = [sys.executable, str(peers / "oidc-provider" / "mint_refresh_tokens.py")]
            cmd += ["-n", str(n), "-o", str(out), "--base", base]
            await asyncio.to_thread(subprocess.run, cmd, check=True, capture_output=True, timeout=300)
            return out.read_text().split()

        yield Side("oidc-provider", endpoint, mint, codes, oidc_codes)
    finally:
        node.terminate()
        node.wait(20)


async def _python_load(side: Side, a: argparse.Namespace) -> dict[str, Window]:
    """``--python-load``: one server's windows with the aiohttp load generator, one server after the other."""
    refresh, exchange, oidc = f"refresh {side.name}", f"exchange {side.name}", f"exchange-oidc {side.name}"
    tokens = await side.mint(a.http_concurrency)
    out = {refresh: await refresh_load(side.endpoint, tokens, a, label=refresh)}
    if not side.refresh_only:
        out[exchange] = await exchange_load(side.endpoint, side.codes, a, label=exchange)
        if side.oidc_codes is not None:
            out[oidc] = await exchange_load(side.endpoint, side.oidc_codes, a, label=oidc)
    return out


def use_wrk(a: argparse.Namespace) -> bool:
    """The HTTP windows run under wrk unless ``--python-load`` asks for the aiohttp load generator."""
    return not a.python_load and wrk_path() is not None


def run_peer_comparison(stack: Stack, a: argparse.Namespace) -> dict[str, Any]:
    """Mavio as ``make run`` starts it (confidential and public clients; the breakdown rows beside it)
    next to node-oidc-provider; without the peer (``../shared/peers`` not found), Mavio's own rows only."""
    peers = peers_dir()
    with tempfile.TemporaryDirectory(prefix="mavio-bench-peer-") as name, shipped_stacks(a) as stacks:
        driver = "wrk" if use_wrk(a) else "the aiohttp load generator"
        print(
            f"token endpoint over HTTP against make run's stack, {a.http_concurrency} workers, "
            f"client_secret_basic (public client: client_id alone); load: {driver}",
            flush=True,
        )
        tmp = Path(name)
        extra = [] if a.no_breakdown else [bench_only_side(stack, a, tmp)]
        if peers is None:
            print("../shared/peers not found (MAVIO_PEERS_DIR): Mavio's rows only, no peer", flush=True)
            return asyncio.run(_http_rows(stacks, extra, None, None, a))
        with _oidc_provider(peers, tmp) as peer:
            return asyncio.run(_http_rows(stacks, extra, peer, peers, a))


async def _http_rows(
    stacks: list[ShippedStack],
    extra: list[Side],
    peer: Side | None,
    peers: Path | None,
    a: argparse.Namespace,
) -> dict[str, Window]:
    """Every HTTP row: the wrk (or ``--python-load``) rows of every side, then goal 2's loadgen rows
    (the shipped stack's confidential client beside the peer)."""
    async with user_sides(stacks) as sides:
        sides = [*sides, *extra, *([peer] if peer is not None else [])]
        results = await _compared(sides, a)
        if peers is not None and peer is not None and not a.no_loadgen:
            print(f"goal 2: loadgen.py refresh, {a.http_concurrency} workers", flush=True)
            results |= await loadgen_rows(peers, [sides[0], peer], a)
    return results


async def _compared(sides: list[Side], a: argparse.Namespace) -> dict[str, Window]:
    """Under wrk, every side's windows in turns; with ``--python-load``, one side after the other."""
    if use_wrk(a):
        return await interleaved(sides, a)
    results: dict[str, Window] = {}
    for side in sides:
        results |= await _python_load(side, a)
    return results
