"""Goal 2 of issue 28: refresh with rotation driven by the peers' Python load generator
(``../shared/peers/loadgen.py refresh``, ``--http-concurrency`` workers, its own ``--rt-file``, every
process of the server as ``--server-pid``), Mavio's shipped stack beside node-oidc-provider.

The servers take turns as in ``bench.interleave`` (one run of each per round, the order flipped every
round). Each run asks loadgen for two windows: the first only marks the end of its warm-up; the CPU of
every server process is measured over the second, from the moment loadgen prints the first window's
line to the moment it prints the second's, so it covers the same seconds as loadgen's own figures.
The load generator's CPU (its own, over that window) is reported as ``loadgen``, on its own."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.interleave import Side, turns
from bench.load import CpuMeter, Window, median_window

LABEL = "loadgen refresh"


def window_from(report: dict[str, Any], cpu: dict[str, float]) -> Window:
    """The second (measured) window of loadgen's ``--json`` report, with the CPU measured over it."""
    last = report["windows"][-1]
    return Window(
        rps=float(last["rps"]),
        p50_ms=float(last["p50_ms"]),
        p99_ms=float(last["p99_ms"]),
        errors=int(last["errors"]),
        cpu=cpu | {"loadgen": float(last["loadgen_cpu"])},
        p90_ms=float(last["p90_ms"]),
    )


def command(peers: Path, side: Side, rt_file: Path, a: argparse.Namespace) -> list[str]:
    e = side.endpoint
    cmd = [sys.executable, str(peers / "loadgen.py"), "refresh", "--token-url", e.url]
    cmd += ["--client-id", e.client_id, "--client-secret", e.secret, "--rt-file", str(rt_file)]
    cmd += ["-c", str(a.http_concurrency), "-w", str(a.warmup), "-d", str(a.duration), "-r", "2"]
    return [*cmd, "--json", "--server-pid", *(str(pid) for pid in e.pids.values())]


async def loadgen_window(peers: Path, side: Side, a: argparse.Namespace) -> Window:
    """One loadgen run against ``side`` with fresh chains; its second window."""
    with tempfile.TemporaryDirectory(prefix="mavio-loadgen-") as tmp:
        rt_file = Path(tmp) / "rt.txt"
        rt_file.write_text("\n".join(await side.mint(a.http_concurrency)) + "\n")
        proc = await asyncio.create_subprocess_exec(
            *command(peers, side, rt_file, a),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert proc.stdout is not None
        meter: CpuMeter | None = None
        cpu: dict[str, float] = {}
        lines = []
        async for raw in proc.stdout:
            line = raw.decode(errors="replace")
            lines.append(line)
            if line.startswith("[refresh] window 1:"):
                meter = CpuMeter(dict(side.endpoint.pids) | {"loadgen": proc.pid})
            elif line.startswith("[refresh] window 2:") and meter is not None:
                _, cpu = meter.cores()
        await proc.wait()
        reports = [json.loads(line) for line in lines if line.startswith("{")]
        if proc.returncode != 0 or not reports or not cpu:
            raise RuntimeError(f"loadgen failed ({proc.returncode}): {''.join(lines)[-800:]}")
        cpu.pop("loadgen")  # its window figure comes from loadgen itself (the same seconds)
        return window_from(reports[-1], cpu)


async def loadgen_rows(peers: Path, sides: list[Side], a: argparse.Namespace) -> dict[str, Window]:
    """``a.repeats`` rounds of one loadgen run per side, in turns; each side's median."""
    windows: dict[str, list[Window]] = {side.name: [] for side in sides}
    for r, order in enumerate(turns(sides, a.repeats - 1)):
        for side in order:
            w = await loadgen_window(peers, side, a)
            print(f"  [{LABEL} {side.name}] window {r + 1}: {w.line()}", flush=True)
            windows[side.name].append(w)
    return {f"{LABEL} {name}": median_window(ws) for name, ws in windows.items()}
