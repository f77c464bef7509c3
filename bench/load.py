"""A closed-loop load generator: N workers, a warm-up, then repeated fixed windows; per window req/s,
p50/p99 latency and the CPU (cores) of the processes under test; medians over the windows."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

CLK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def machine_busy_seconds() -> float:
    """CPU-seconds all cores spent busy (steal included), from /proc/stat."""
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in f.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / CLK


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


@dataclass
class _Acc:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0


@dataclass
class _State:
    window: _Acc | None = None
    stop: bool = False


@dataclass
class Window:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu: dict[str, float] = field(default_factory=dict)
    p90_ms: float = float("nan")

    def line(self) -> str:
        cpu = "  ".join(f"{name} {cores:.2f}" for name, cores in self.cpu.items())
        return (
            f"{self.rps:9.0f} req/s  p50 {self.p50_ms:6.2f} ms  p90 {self.p90_ms:6.2f} ms  "
            f"p99 {self.p99_ms:6.2f} ms  errors {self.errors}  cpu: {cpu}"
        )


def median_window(windows: list[Window]) -> Window:
    names = windows[0].cpu.keys()  # "other": everything else on the machine (other people's work)
    return Window(
        rps=statistics.median(w.rps for w in windows),
        p50_ms=statistics.median(w.p50_ms for w in windows),
        p99_ms=statistics.median(w.p99_ms for w in windows),
        errors=sum(w.errors for w in windows),  # every error counts: the goal is none
        cpu={n: statistics.median(w.cpu[n] for w in windows) for n in names},
        p90_ms=statistics.median(w.p90_ms for w in windows),
    )


class CpuMeter:
    """Cores used by each named process (and by the rest of the machine) between start and stop."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self._cpu0 = {n: cpu_seconds(p) for n, p in pids.items()}
        self._busy0 = machine_busy_seconds()
        self._t0 = time.perf_counter()

    def cores(self) -> tuple[float, dict[str, float]]:
        wall = time.perf_counter() - self._t0
        cpu = {n: (cpu_seconds(p) - self._cpu0[n]) / wall for n, p in self.pids.items()}
        cpu["other"] = max(0.0, (machine_busy_seconds() - self._busy0) / wall - sum(cpu.values()))
        return wall, cpu


def window_of(latencies: list[float], errors: int, wall: float, cpu: dict[str, float]) -> Window:
    lat = sorted(latencies)
    return Window(
        rps=len(lat) / wall,
        p50_ms=percentile(lat, 50) * 1e3,
        p99_ms=percentile(lat, 99) * 1e3,
        errors=errors,
        cpu=cpu,
        p90_ms=percentile(lat, 90) * 1e3,
    )


async def burst(
    ops: list[Callable[[], Awaitable[bool]]], *, concurrency: int, pids: dict[str, int]
) -> Window:
    """Run every op once, ``concurrency`` at a time (a count-based window: for one-shot credentials)."""
    pending = list(reversed(ops))
    acc = _Acc()

    async def worker() -> None:
        while pending:
            op = pending.pop()
            started = time.perf_counter()
            try:
                ok = await op()
            except Exception:
                ok = False
            if ok:
                acc.latencies.append(time.perf_counter() - started)
            else:
                acc.errors += 1

    meter = CpuMeter(pids)
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall, cpu = meter.cores()
    return window_of(acc.latencies, acc.errors, wall, cpu)


async def measure(
    op: Callable[[int], Awaitable[bool]],
    *,
    concurrency: int,
    warmup: float,
    duration: float,
    repeats: int,
    pids: dict[str, int],
    label: str,
) -> Window:
    """Run ``op(worker_index)`` in ``concurrency`` loops; print each window and return the median."""
    state = _State()

    async def worker(i: int) -> None:
        while not state.stop:
            acc = state.window
            started = time.perf_counter()
            try:
                ok = await op(i)
            except Exception:
                ok = False
            elapsed = time.perf_counter() - started
            if acc is not None and acc is state.window:
                if ok:
                    acc.latencies.append(elapsed)
                else:
                    acc.errors += 1

    tasks = [asyncio.create_task(worker(i)) for i in range(concurrency)]
    await asyncio.sleep(warmup)
    windows: list[Window] = []
    for r in range(repeats):
        acc = _Acc()
        meter = CpuMeter(pids)
        state.window = acc
        await asyncio.sleep(duration)
        state.window = None
        wall, cpu = meter.cores()
        w = window_of(acc.latencies, acc.errors, wall, cpu)
        print(f"  [{label}] window {r + 1}: {w.line()}", flush=True)
        windows.append(w)
    state.stop = True
    await asyncio.gather(*tasks, return_exceptions=True)
    return median_window(windows)
