"""``python -m bench.profile`` (``make profile``): py-spy on the gateway and token processes of the
stack as ``make run`` starts it (``bench.shipped``: its log level, metrics, every service), fed over
HTTP as ``make bench`` feeds it, while the peers' ``loadgen.py`` runs refresh with rotation; prints
each process's top frames (self samples) and keeps the collapsed stacks (``--out DIR``). Not a
benchmark: sampling slows the processes down."""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.ceilings import peers_dir
from bench.http_user import App, User
from bench.shipped import ShippedStack
from bench.shipped_sides import SHIPPED
from shared.apps.settings import CONFIDENTIAL

PY_SPY = Path(sys.executable).with_name("py-spy")
PROFILED = ("gateway", "token-1")


def top_frames(collapsed: Path, n: int) -> list[tuple[int, str]]:
    """The ``n`` frames with the most self samples in py-spy's collapsed (``raw``) output."""
    own: collections.Counter[str] = collections.Counter()
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            own[stack.split(";")[-1]] += int(count)
    total = sum(own.values()) or 1
    return [(round(100 * c / total), frame) for frame, c in own.most_common(n)]


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    p.add_argument("-d", "--duration", type=int, default=10, help="seconds sampled")
    p.add_argument("-c", "--concurrency", type=int, default=50)
    p.add_argument("--top", type=int, default=15)
    p.add_argument("--out", default="bench/results/profile")
    a = p.parse_args(argv)
    peers = peers_dir()
    if peers is None:
        print("../shared/peers not found", file=sys.stderr)
        return 1
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    stack = ShippedStack.start(SHIPPED)
    try:
        stack.wait_ready()
        with tempfile.TemporaryDirectory(prefix="mavio-profile-") as tmp:
            rt_file, app = asyncio.run(_fed(stack, a.concurrency + 10, Path(tmp)))
            cmd = [
                sys.executable,
                str(peers / "loadgen.py"),
                "refresh",
                "--token-url",
                f"{stack.base}/oauth/token",
            ]
            cmd += ["--client-id", app.client_id, "--client-secret", app.secret, "--auth", "basic"]
            cmd += ["-c", str(a.concurrency), "-d", str(a.duration + 4), "-w", "1", "-r", "1"]
            cmd += ["--max-windows", "1", "--rt-file", str(rt_file)]
            load = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
            spy = [str(PY_SPY), "record", "--duration", str(a.duration), "--rate", "200", "--format", "raw"]
            spies = {
                name: subprocess.Popen(
                    [*spy, "--pid", str(pid), "--output", str(out / f"{name}.txt"), "--nonblocking"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for name, pid in stack.pids.items()
                if name in PROFILED
            }
            for spy_proc in spies.values():
                spy_proc.wait(a.duration + 60)
            print((load.communicate(timeout=120)[0] or "").strip().splitlines()[-1:], flush=True)
    finally:
        stack.stop()
    for name in spies:
        print(f"\n== {name}: top frames by own samples ==")
        for pct, frame in top_frames(out / f"{name}.txt", a.top):
            print(f"{pct:3d}%  {frame}")
    print(f"\nload average {os.getloadavg()[0]:.1f}; collapsed stacks in {out}/")
    return 0


async def _fed(stack: ShippedStack, count: int, tmp: Path) -> tuple[Path, App]:
    """The demo user signed in, a confidential app registered and consented to, ``count`` refresh
    tokens minted over HTTP (as ``make bench`` feeds the shipped stack) and written to a file."""
    user = User(stack.base)
    try:
        await user.sign_in()
        app = await user.register("Profile", CONFIDENTIAL)
        await user.consent(app)
        tokens = await user.refresh_tokens(app, count)
    finally:
        await user.close()
    rt_file = tmp / "rt.txt"
    rt_file.write_text("\n".join(tokens) + "\n")
    return rt_file, app


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
