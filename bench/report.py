"""The run's results: ``bench/results/<date>.json`` (every median) and ``<date>.md`` (the ratios table,
the per-scenario details with CPU per process, and the machine it ran on)."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
from dataclasses import asdict
from pathlib import Path
from typing import Any, NamedTuple

from bench import cpu_goals
from bench.ceilings import Ceiling
from bench.load import Window
from bench.measures import Measure

RESULTS = Path(__file__).resolve().parent / "results"


class Goal(NamedTuple):
    label: str  # the scenario, as the table shows it
    ours: str  # result keys
    reference: str
    goal: float  # the ratio asked for (issue 10)
    floor: float  # the ratio below which it fails outright


GOALS = (
    Goal(
        "refresh with rotation (HTTP) vs node-oidc-provider",
        "refresh mavio",
        "refresh oidc-provider",
        1.5,
        1.0,
    ),
    Goal(
        "code exchange, PKCE (HTTP) vs node-oidc-provider",
        "exchange mavio",
        "exchange oidc-provider",
        1.5,
        1.0,
    ),
    Goal(
        "code exchange with openid (RS256, ID token signed; HTTP) vs node-oidc-provider",
        "exchange-oidc mavio",
        "exchange-oidc oidc-provider",
        1.5,
        1.0,
    ),
    # A public client (client_id alone) costs what a confidential one does: the constant-time secret
    # comparisons still run (shared.apps.secrets.client_authenticated).
    Goal(
        "refresh with rotation (HTTP), public client vs confidential",
        "refresh mavio public",
        "refresh mavio",
        0.9,
        0.8,
    ),
    Goal("bus verify, 1 token replica vs nats echo ceiling", "verify x1", "nats echo", 0.8, 0.8),
    Goal("bus verify, 2 token replicas vs nats echo ceiling", "verify x2", "nats echo", 0.8, 0.8),
    # Issue 28, goal 3: verified tokens per second through the batching verifier (token.verify_many)
    # against the echo ceiling's messages per second.
    Goal(
        "bus verify, batching client (token.verify_many), 1 token replica vs nats echo ceiling",
        "verify x1 batching",
        "nats echo",
        1.0,
        0.8,
    ),
    Goal("cached verify (shared.verify_client) vs bus verify x1", "cached verify", "verify x1", 20.0, 20.0),
)


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def _row(result: Window | Ceiling) -> dict[str, Any]:
    return asdict(result)


def _fmt_cpu(cpu: dict[str, float]) -> str:
    return ", ".join(f"{name} {cores:.2f}" for name, cores in cpu.items())


def ratios(results: dict[str, Window | Ceiling]) -> list[dict[str, Any]]:
    out = []
    for g in GOALS:
        ours, ref = results.get(g.ours), results.get(g.reference)
        if ours is None or ref is None or not ref.rps:
            continue
        ratio = ours.rps / ref.rps
        verdict = "met" if ratio >= g.goal else ("floor met" if ratio >= g.floor else "not met")
        out.append(
            {
                "scenario": g.label,
                "ours": g.ours,
                "reference": g.reference,
                "ratio": round(ratio, 3),
                "goal": g.goal,
                "verdict": verdict,
                "p99_ratio": round(ours.p99_ms / ref.p99_ms, 2) if ref.p99_ms else None,
            }
        )
    return out


def verify_cpu_lines(results: dict[str, Any]) -> list[str]:
    """CPU per verification (µs) of each process, for the bus verification rows (issue 28)."""
    rows = {label: w for label, w in results.items() if label.startswith("verify x") and w.get("rps")}
    if not rows:
        return []
    lines = ["", "| verification run | tokens/s | CPU per verification (µs) per process |", "|---|---:|---|"]
    for label, w in rows.items():
        per = ", ".join(
            f"{name} {cores / w['rps'] * 1e6:.1f}"
            for name, cores in w.get("cpu", {}).items()
            if name != "other"
        )
        lines.append(f"| {label} | {w['rps']:,.0f} | {per} |")
    return lines


def markdown(summary: dict[str, Any]) -> str:
    m, lines = summary["machine"], []
    lines.append(
        f"Run {summary['date']} on {m['cores']} cores ({m['cpu'] or 'unknown CPU'}), Python {m['python']}; "
        f"load average {summary['load_before']:.1f} before, {summary['load_after']:.1f} after "
        "(a machine shared with other work: compare the ratios, each a median of "
        f"{summary['repeats']} windows in this one run, code exchange of "
        f"{summary.get('exchange_windows', summary['repeats'])})."
    )
    lines += ["", "| scenario | Mavio req/s | reference req/s | ratio | goal | p99 Mavio / ref (ms) |"]
    lines.append("|---|---:|---:|---:|---|---|")
    res = summary["results"]
    for r in summary["ratios"]:
        ours, ref = res[r["ours"]], res[r["reference"]]
        lines.append(
            f"| {r['scenario']} | {ours['rps']:,.0f} | {ref['rps']:,.0f} | **{r['ratio']:.2f}** | "
            f"≥ {r['goal']:g} ({r['verdict']}) | {ours['p99_ms']:.1f} / {ref['p99_ms']:.1f} |"
        )
    if summary.get("measures"):
        lines += ["", "| scenario | figure | goal | verdict |", "|---|---|---|---|"]
        for m in summary["measures"]:
            verdict = "met" if m["met"] else "not met"
            lines.append(f"| {m['scenario']} | {m['figure']} | {m['goal']} | {verdict} |")
    lines += _cpu_sections(summary)
    lines += [
        "",
        f"| run | req/s | p50 ms | p90 ms | p99 ms | errors | {SERVER} | {PER_REQUEST} | {LOAD} | {PROCS} |",
    ]
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for label, w in res.items():
        lines.append(_run_line(label, w))
    lines += verify_cpu_lines(res)
    return "\n".join(lines) + "\n"


SERVER = "server CPU (cores, all its processes)"
PER_REQUEST = "CPU ms per successful request"
LOAD = "load generator (cores)"
PROCS = "CPU (cores) per process"


def _num(value: float | None, fmt: str) -> str:
    return "" if value is None or value != value else format(value, fmt)  # NaN: not measured


def _run_line(label: str, w: dict[str, Any]) -> str:
    cpu = w.get("cpu", {})
    server = f"{cpu_goals.server_cores(cpu):.2f}" if cpu else ""
    per_request = _num(cpu_goals.cpu_ms(w), ".3f") if cpu else ""
    load = _num(cpu_goals.load_cores(cpu), ".2f") if any(n in cpu for n in cpu_goals.LOAD_GENERATORS) else ""
    return (
        f"| {label} | {w['rps']:,.0f} | {w['p50_ms']:.2f} | {_num(w.get('p90_ms'), '.2f')} | "
        f"{w['p99_ms']:.2f} | {w.get('errors', '')} | {server} | {per_request} | {load} | {_fmt_cpu(cpu)} |"
    )


def _cpu_sections(summary: dict[str, Any]) -> list[str]:
    """The goals block of issue 28, CPU per request beside the peer's, and the configuration's cost."""
    lines = ["", "Goals of issue 28 in this run (computed):", ""]
    for g in summary.get("goals", []):
        lines.append(f"- goal {g['goal']}: **{g['verdict']}**: {g['figures']}")
    head = "Mavio ms/request | reference ms/request | CPU ratio | throughput ratio | p99 Mavio / ref (ms) |"
    lines += ["", f"| CPU per successful request (all processes) | {head} CPU goal |"]
    lines.append("|---|---:|---:|---:|---:|---|---|")
    for r in summary.get("cpu", []):
        verdict = cpu_goals.cpu_verdict(r["cpu_ratio"])
        lines.append(
            f"{_cpu_line(r)} ≤ {cpu_goals.CPU_GOAL:g}, floor ≤ {cpu_goals.CPU_FLOOR:g} ({verdict}) |"
        )
    if summary.get("findings"):
        lines += [
            "",
            f"| the shipped configuration's cost (a finding) | {head}",
            "|---|---:|---:|---:|---:|---|",
        ]
        lines += [_cpu_line(r) for r in summary["findings"]]
    return lines


def _cpu_line(r: dict[str, Any]) -> str:
    ours, ref = r["p99_ms"]
    return (
        f"| {r['scenario']} | {_num(r['ours_ms'], '.3f')} | {_num(r['reference_ms'], '.3f')} | "
        f"**{_num(r['cpu_ratio'], '.2f')}** | {_num(r['rps_ratio'], '.2f')} | {ours:.1f} / {ref:.1f} |"
    )


def latest_results() -> dict[str, Any] | None:
    """The newest earlier run in ``bench/results`` (the baseline of goal 4): its rows, or None."""
    for path in sorted(RESULTS.glob("*.json"), reverse=True):
        try:
            rows = json.loads(path.read_text()).get("results")
        except (OSError, ValueError):
            continue
        if isinstance(rows, dict):
            return rows
    return None


def _p99s(summary: dict[str, Any]) -> list[cpu_goals.P99]:
    res = summary["results"]
    rows = [
        (r["scenario"], res[r["ours"]]["p99_ms"], res[r["reference"]]["p99_ms"]) for r in summary["ratios"]
    ]
    return rows + [(r["scenario"], *r["p99_ms"]) for r in summary["cpu"]]


def write(
    results: dict[str, Window | Ceiling],
    measures: list[Measure],
    *,
    repeats: int,
    load_before: float,
    exchange_windows: int | None = None,
) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    rows = {label: _row(r) for label, r in results.items()}
    summary: dict[str, Any] = {
        "date": now.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "repeats": repeats,
        "exchange_windows": exchange_windows if exchange_windows is not None else repeats,
        "results": rows,
        "measures": [asdict(m) for m in measures],
    }
    summary["ratios"] = ratios(results)
    summary["cpu"] = cpu_goals.compared(rows)
    summary["findings"] = cpu_goals.compared(rows, cpu_goals.FINDINGS)
    summary["goals"] = cpu_goals.goals(rows, _p99s(summary), latest_results())  # before this run's file
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / now.strftime("%Y-%m-%d")
    stem.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n")
    stem.with_suffix(".md").write_text(markdown(summary))
    print(f"\nwrote {stem}.json and {stem}.md\n")
    print(markdown(summary))
    return summary
