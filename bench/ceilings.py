"""The ceilings of this machine measured in the same run, with the read-only kit in ``../shared/peers``:
``limits/nats_echo.py`` (a Python bus round trip, msgspec payloads shaped like a verification) and
``limits/redis_loop.py`` (redis-py GET loop). Nothing is copied: the scripts run from where they are."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from services.stack.embedded import die_with_parent

_MEDIAN = re.compile(r"MEDIAN.*?:\s+([\d.]+) (?:req|ops)/s\s+p50\s+([\d.]+) ms.*?p99\s+([\d.]+) ms")


@dataclass
class Ceiling:
    label: str
    rps: float
    p50_ms: float
    p99_ms: float


def peers_dir() -> Path | None:
    """The peers kit: ``$MAVIO_PEERS_DIR``, else ``shared/peers`` beside the checkout (or the folder
    ``make bench`` runs in)."""
    given = os.environ.get("MAVIO_PEERS_DIR")
    beside = (Path("../shared/peers"), Path(__file__).resolve().parents[2] / "shared" / "peers")
    for candidate in (Path(given),) if given else beside:
        if (candidate / "limits" / "nats_echo.py").exists():
            return candidate.resolve()
    return None


def _median(label: str, output: str) -> Ceiling | None:
    found = _MEDIAN.search(output)
    if found is None:
        print(f"  [{label}] no MEDIAN line in its output:\n{output[-800:]}", flush=True)
        return None
    return Ceiling(label, float(found.group(1)), float(found.group(2)), float(found.group(3)))


def _timing(warmup: float, duration: float, repeats: int) -> list[str]:
    return [
        "-w",
        str(warmup),
        "-d",
        str(duration),
        "-r",
        str(repeats),
        "--max-windows",
        str(repeats),
        "--uvloop",
    ]


def nats_echo(
    peers: Path, nats_url: str, *, inflight: int, warmup: float, duration: float, repeats: int
) -> Ceiling | None:
    script = str(peers / "limits" / "nats_echo.py")
    serve = subprocess.Popen(  # a responder in its own process, like a token replica
        [sys.executable, script, "serve", "--url", nats_url, "--codec", "msgspec", "--uvloop"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )
    try:
        time.sleep(1.0)
        cmd = [
            sys.executable,
            script,
            "request",
            "--url",
            nats_url,
            "--codec",
            "msgspec",
            "--inflight",
            str(inflight),
        ]
        cmd += [*_timing(warmup, duration, repeats), "--pids", str(serve.pid)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
        return _median("nats echo", done.stdout + done.stderr)
    finally:
        serve.terminate()
        serve.wait(10)


def redis_get(
    peers: Path, port: int, *, concurrency: int, warmup: float, duration: float, repeats: int
) -> Ceiling | None:
    script = str(peers / "limits" / "redis_loop.py")
    cmd = [sys.executable, script, "--port", str(port), "--op", "get", "-c", str(concurrency)]
    done = subprocess.run(
        cmd + _timing(warmup, duration, repeats), capture_output=True, text=True, timeout=600, check=False
    )
    return _median("redis GET", done.stdout + done.stderr)
