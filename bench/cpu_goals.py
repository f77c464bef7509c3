"""CPU per request and the goals of issue 28, computed from a run's rows (the JSON's ``results``: each
row's ``rps``, ``p99_ms`` and ``cpu``, cores per process over the window).

- A server's cores are the sum over its processes; the load generators (``wrk``, ``loadgen``,
  ``requester``) and ``other`` (the rest of the machine) are never in it.
- CPU per successful request (ms) = the server's cores / successful requests per second x 1000.
- A CPU ratio is Mavio's CPU per request / the peer's: lower is better (goal <= 0.67, floor <= 1.0).
- Goal 1: CPU per refresh and per PKCE code exchange <= the peer's (floor), <= 0.67 (goal), and the
  throughput ratios >= 1.5 with wrk. Goal 2: refresh driven by loadgen.py >= 1.0x the peer. Goal 4: no
  row outside the HTTP scenarios below its figure in the previous run by more than the noise of these
  machines (``NOISE``), and a p99 beside every ratio."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

Row = dict[str, Any]
P99 = tuple[str, float, float]  # (ratio row, Mavio's p99 ms, the reference's)
LOAD_GENERATORS = ("wrk", "loadgen", "requester")
NOT_SERVER = frozenset({*LOAD_GENERATORS, "other"})
HTTP_PREFIXES = ("refresh ", "exchange ", "exchange-oidc ", "loadgen ")
CEILINGS = frozenset({"nats echo", "redis GET"})  # the machine's, not Mavio's
NOISE = 0.3  # these shared machines drift by 30 % or more between runs (../shared/peers/README.md)
CPU_GOAL, CPU_FLOOR, RPS_GOAL, LOADGEN_GOAL = 0.67, 1.0, 1.5, 1.0


class CpuGoal(NamedTuple):
    label: str
    ours: str
    reference: str


CPU_ROWS = (
    CpuGoal("refresh with rotation (HTTP)", "refresh mavio", "refresh oidc-provider"),
    CpuGoal("code exchange, PKCE (HTTP)", "exchange mavio", "exchange oidc-provider"),
    CpuGoal("code exchange with openid (HTTP)", "exchange-oidc mavio", "exchange-oidc oidc-provider"),
    CpuGoal("refresh with rotation (loadgen.py)", "loadgen refresh mavio", "loadgen refresh oidc-provider"),
)
# What the shipped configuration costs: make run's stack beside the same at log level warning and
# beside the stack the bench used to assemble (a finding, no goal).
FINDINGS = (
    CpuGoal(
        "refresh: make run's stack vs the same at MAVIO_LOG_LEVEL=warning",
        "refresh mavio",
        "refresh mavio log=warning",
    ),
    CpuGoal("refresh: make run's stack vs the bench-only stack", "refresh mavio", "refresh mavio bench-only"),
)


def server_cores(cpu: dict[str, float]) -> float:
    return sum(cores for name, cores in cpu.items() if name not in NOT_SERVER)


def load_cores(cpu: dict[str, float]) -> float:
    return sum(cpu.get(name, 0.0) for name in LOAD_GENERATORS)


def cpu_ms(row: Row) -> float:
    """CPU (ms, all the server's processes together) per successful request; NaN without requests."""
    rps = row.get("rps") or 0.0
    return server_cores(row.get("cpu", {})) / rps * 1e3 if rps > 0 else math.nan


def _ratio(a: float, b: float) -> float:
    return a / b if b and not math.isnan(a) and not math.isnan(b) else math.nan


def compared(results: dict[str, Row], rows: tuple[CpuGoal, ...] = CPU_ROWS) -> list[Row]:
    """Per pair present in the run: CPU per request of each, the CPU ratio, the throughput ratio and
    both p99s."""
    out = []
    for g in rows:
        ours, ref = results.get(g.ours), results.get(g.reference)
        if ours is None or ref is None:
            continue
        ours_ms, ref_ms = cpu_ms(ours), cpu_ms(ref)
        out.append(
            {
                "scenario": g.label,
                "ours": g.ours,
                "reference": g.reference,
                "ours_ms": ours_ms,
                "reference_ms": ref_ms,
                "cpu_ratio": _ratio(ours_ms, ref_ms),
                "rps_ratio": _ratio(ours["rps"], ref["rps"]),
                "p99_ms": (ours["p99_ms"], ref["p99_ms"]),
            }
        )
    return out


def cpu_verdict(ratio: float) -> str:
    if math.isnan(ratio):
        return "not measured"
    return "met" if ratio <= CPU_GOAL else ("floor met" if ratio <= CPU_FLOOR else "not met")


def goal_1(results: dict[str, Row]) -> tuple[str, str]:
    """(verdict, figures): CPU per refresh and per PKCE exchange vs the peer, throughput with wrk."""
    pairs = {r["ours"]: r for r in compared(results)}
    wanted = [pairs.get("refresh mavio"), pairs.get("exchange mavio")]
    if any(p is None for p in wanted):
        return "not measured", "the refresh and code-exchange rows beside the peer are missing"
    found = [p for p in wanted if p is not None]
    by_wrk = all("wrk" in results[p["ours"]].get("cpu", {}) for p in found)
    worst_cpu = max(p["cpu_ratio"] for p in found)
    worst_rps = min(p["rps_ratio"] for p in found)
    verdict = cpu_verdict(worst_cpu)
    if verdict == "met" and not (by_wrk and worst_rps >= RPS_GOAL):
        verdict = "floor met"
    figures = ", ".join(
        f"{p['scenario']}: CPU {p['cpu_ratio']:.2f}x, throughput {p['rps_ratio']:.2f}x" for p in found
    )
    return verdict, figures + ("" if by_wrk else " (not driven by wrk)")


def goal_2(results: dict[str, Row]) -> tuple[str, str]:
    ours, ref = results.get("loadgen refresh mavio"), results.get("loadgen refresh oidc-provider")
    if ours is None or ref is None:
        return "not measured", "no loadgen.py rows in this run"
    ratio = _ratio(ours["rps"], ref["rps"])
    verdict = "met" if ratio >= LOADGEN_GOAL else "not met"
    loadgen = ours.get("cpu", {}).get("loadgen", math.nan)
    return (
        verdict,
        f"{ratio:.2f}x the peer ({ours['rps']:,.0f} vs {ref['rps']:,.0f}/s), "
        f"loadgen.py at {loadgen:.2f} core",
    )


def regressions(results: dict[str, Row], baseline: dict[str, Row]) -> list[str]:
    """Rows outside the HTTP scenarios and the ceilings whose throughput fell below the baseline's by
    more than ``NOISE``."""
    out = []
    for label, row in results.items():
        before = baseline.get(label)
        if before is None or label in CEILINGS or label.startswith(HTTP_PREFIXES) or not before.get("rps"):
            continue
        if row["rps"] < (1 - NOISE) * before["rps"]:
            out.append(f"{label} {row['rps']:,.0f}/s (was {before['rps']:,.0f}/s)")
    return out


def goal_4(results: dict[str, Row], p99s: list[P99], baseline: dict[str, Row] | None) -> tuple[str, str]:
    """(verdict, figures): no regression beyond noise against the previous run; a p99 beside every ratio."""
    missing_p99 = [name for name, ours, ref in p99s if math.isnan(ours) or math.isnan(ref)]
    if baseline is None:
        return "not measured", "no earlier run in bench/results to compare with"
    fallen = regressions(results, baseline)
    compared_rows = sum(
        1 for k in results if k in baseline and k not in CEILINGS and not k.startswith(HTTP_PREFIXES)
    )
    if fallen or missing_p99:
        problems = [*fallen, *(f"no p99 for {name}" for name in missing_p99)]
        return "not met", "; ".join(problems)
    return "met", f"{compared_rows} rows within {NOISE:.0%} of the previous run; a p99 beside every ratio"


def goals(results: dict[str, Row], p99s: list[P99], baseline: dict[str, Row] | None) -> list[Row]:
    """The goals block of issue 28 (1, 2 and 4), each computed from this run; ``p99s``: (ratio row,
    Mavio's p99, the reference's p99) for every ratio the report shows."""
    out = []
    for number, (verdict, figures) in (
        (1, goal_1(results)),
        (2, goal_2(results)),
        (4, goal_4(results, p99s, baseline)),
    ):
        out.append({"goal": number, "verdict": verdict, "figures": figures})
    return out
