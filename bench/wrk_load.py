"""The token endpoint driven by ``wrk`` (Debian's package) instead of the Python load generator, which
costs ~0.3-0.8 core at these rates: on a 2-core machine that is CPU the server under test loses (and a
multi-process server loses more of it than a single-process one).

- Refresh with rotation: each window mints ``concurrency`` (+1) fresh chains (a wrk run's rotated
  tokens stay in its worker's Lua state), then runs ``wrk -t1 -c<concurrency> -d<duration>`` with
  ``wrk/refresh.lua``. Throughput counts successful rotations only (node-oidc-provider's in-memory store
  sometimes drops a chain's grant under this churn; its errors are reported, not counted as refreshes).
- Code exchange: each window prepares its codes (+1, see ``wrk/exchange.lua``), then wrk exchanges each
  once, ``concurrency`` at a time, and stops when the last is answered; the window's time runs from the
  first request to the last answer, timed inside wrk.

The CPU of the server processes and of wrk itself is measured over each wrk run. The windows of the
servers compared are interleaved by ``bench.interleave``."""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.http_scenarios import TokenEndpoint
from bench.load import CpuMeter, Window

SCRIPTS = Path(__file__).resolve().parent / "wrk"
_LINE = re.compile(r"WRK requests (\d+) seconds ([\d.]+) p50 ([\d.]+) p90 ([\d.]+) p99 ([\d.]+) errors (\d+)")
Mint = Callable[[int], Awaitable[list[str]]]  # n -> n fresh refresh tokens, each its own chain
Codes = Callable[[int], Awaitable[list[tuple[str, str]]]]  # n -> [(code, code_verifier)]
DONE = "WRK exchange done"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wrk_path() -> str | None:
    return shutil.which("wrk")


def _wrk() -> str:
    wrk = wrk_path()
    if wrk is None:
        raise RuntimeError("wrk not found: make bench installs it (scripts/ensure-wrk.sh)")
    return wrk


async def wrk_refresh_window(
    target: TokenEndpoint, mint: Mint, a: argparse.Namespace, seconds: float
) -> Window:
    """One refresh window of ``seconds``: ``a.http_concurrency`` fresh chains (+1, see refresh.lua)."""
    with tempfile.TemporaryDirectory(prefix="mavio-wrk-") as tmp:
        tokens = Path(tmp) / "tokens.txt"
        tokens.write_text("\n".join(await mint(a.http_concurrency + 1)) + "\n")
        env = {"MAVIO_WRK_TOKENS": str(tokens)}
        return _run(_wrk(), "refresh.lua", target, env, a.http_concurrency, max(1.0, seconds))


async def wrk_exchange_window(target: TokenEndpoint, codes: Codes, a: argparse.Namespace) -> Window:
    """One count-based window: ``a.codes_per_window`` codes prepared (+1, see exchange.lua), each
    exchanged once, ``a.http_concurrency`` at a time."""
    with tempfile.TemporaryDirectory(prefix="mavio-wrk-") as tmp:
        pairs = Path(tmp) / "codes.txt"
        prepared = await codes(a.codes_per_window + 1)
        pairs.write_text("".join(f"{code} {verifier}\n" for code, verifier in prepared))
        env = {"MAVIO_WRK_CODES": str(pairs), "MAVIO_WRK_REDIRECT": target.redirect_uri}
        return _run(_wrk(), "exchange.lua", target, env, a.http_concurrency, EXCHANGE_LIMIT_S, until=DONE)


EXCHANGE_LIMIT_S = 60.0  # wrk's -d for an exchange window: a bound, the run ends when the codes do


def _run(
    wrk: str,
    script: str,
    target: TokenEndpoint,
    script_env: dict[str, str],
    connections: int,
    seconds: float,
    *,
    until: str | None = None,
) -> Window:
    """One wrk run. With ``until``, wrk is interrupted (SIGINT: it prints its summary at once) as soon as
    the script prints that line."""
    env = script_env | target.wrk_auth()
    cmd = [
        wrk,
        "-t1",
        f"-c{connections}",
        f"-d{seconds:.0f}s",
        "--timeout",
        "5s",
        "-s",
        str(SCRIPTS / script),
        target.url,
    ]
    meter, children0 = CpuMeter(dict(target.pids)), _children_cpu()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = ""
    if until is not None and proc.stdout is not None:
        for line in proc.stdout:
            out += line
            if line.strip() == until:
                proc.send_signal(signal.SIGINT)
                break
    rest, _ = proc.communicate(timeout=seconds + 60)
    out += rest
    wall, cpu = meter.cores()
    cpu["wrk"] = (_children_cpu() - children0) / wall  # wrk is the only child that ended meanwhile
    cpu["other"] = max(0.0, cpu["other"] - cpu["wrk"])
    found = _LINE.search(out)
    if proc.returncode != 0 or found is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {out[-500:]}")
    requests, secs, p50, p90, p99, errors = found.groups()
    return Window(  # throughput counts answered refreshes only: an error answer is cheaper than a rotation
        rps=(int(requests) - int(errors)) / float(secs),
        p50_ms=float(p50),
        p99_ms=float(p99),
        errors=int(errors),
        cpu=cpu,
        p90_ms=float(p90),
    )
