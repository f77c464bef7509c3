"""The bench's pure parts for issue 28: CPU per successful request (the server's processes only, the
load generator on its own line), the CPU ratios, the goals block computed from a run's rows, the
markdown's columns, and the pieces of the shipped-stack harness that read ``/proc`` output, loadgen's
JSON and the pages a user submits."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from bench import cpu_goals, report
from bench.http_user import REDIRECT, code_of, form_fields
from bench.loadgen_rows import window_from
from bench.shipped import SUPERVISOR, launcher_env, named_processes, process_name


def row(rps: float, p99: float = 10.0, **cpu: float) -> dict[str, Any]:
    return {"rps": rps, "p50_ms": 5.0, "p90_ms": 8.0, "p99_ms": p99, "errors": 0, "cpu": cpu}


def http_run(*, refresh: float, exchange: float, wrk: bool = True) -> dict[str, dict[str, Any]]:
    """A run whose Mavio rows use ``refresh`` / ``exchange`` x the peer's CPU per request at 1.6x its
    throughput (peer: 1 core at 1,000/s = 1 ms per request)."""
    load = {"wrk": 0.1} if wrk else {"requester": 0.5}
    peer = row(1000, node=1.0, other=0.3, **load)
    return {
        "refresh oidc-provider": peer,
        "exchange oidc-provider": peer,
        "refresh mavio": row(1600, gateway=0.8 * refresh, **{"token-1": 0.8 * refresh}, **load),
        "exchange mavio": row(1600, gateway=1.6 * exchange, **load),
    }


def test_the_server_cores_leave_out_the_load_generators_and_the_rest_of_the_machine() -> None:
    cpu = {"gateway": 0.7, "token-1": 0.5, "redis-server": 0.2, "wrk": 0.1, "loadgen": 0.8}
    cpu |= {"requester": 0.4, "other": 0.9}
    assert cpu_goals.server_cores(cpu) == pytest.approx(1.4)
    assert cpu_goals.load_cores(cpu) == pytest.approx(1.3)


def test_cpu_per_request_is_the_server_cores_over_the_successful_requests() -> None:
    assert cpu_goals.cpu_ms(row(2000, gateway=0.6, nats=0.2, wrk=0.5)) == pytest.approx(0.4)
    assert math.isnan(cpu_goals.cpu_ms(row(0, gateway=0.6)))


def test_the_cpu_ratio_is_mavio_per_request_over_the_peers_beside_the_throughput_ratio() -> None:
    [refresh, exchange] = cpu_goals.compared(http_run(refresh=0.5, exchange=0.9))
    assert refresh["ours_ms"] == pytest.approx(0.5) and refresh["reference_ms"] == pytest.approx(1.0)
    assert refresh["cpu_ratio"] == pytest.approx(0.5) and refresh["rps_ratio"] == pytest.approx(1.6)
    assert exchange["cpu_ratio"] == pytest.approx(0.9)
    assert refresh["p99_ms"] == (10.0, 10.0)


@pytest.mark.parametrize(
    ("refresh", "exchange", "wrk", "verdict"),
    [
        (0.5, 0.6, True, "met"),
        (0.5, 0.9, True, "floor met"),  # the worse of the two decides
        (0.9, 1.1, True, "not met"),
        (0.5, 0.6, False, "floor met"),  # the goal's throughput ratios count with wrk only
    ],
)
def test_goal_1_is_computed_from_both_cpu_ratios(
    refresh: float, exchange: float, wrk: bool, verdict: str
) -> None:
    found, figures = cpu_goals.goal_1(http_run(refresh=refresh, exchange=exchange, wrk=wrk))
    assert found == verdict
    assert f"CPU {exchange:.2f}x" in figures


def test_goal_1_needs_its_rows() -> None:
    run = http_run(refresh=0.5, exchange=0.5)
    del run["exchange oidc-provider"]
    assert cpu_goals.goal_1(run)[0] == "not measured"


def test_goal_1_throughput_below_the_goal_keeps_it_at_the_floor() -> None:
    run = http_run(refresh=0.5, exchange=0.5)
    run["refresh mavio"] = row(1200, gateway=0.6)  # 0.5 ms per refresh, but only 1.2x the throughput
    assert cpu_goals.goal_1(run)[0] == "floor met"


def test_goal_2_compares_the_loadgen_rows_and_names_the_load_generators_cpu() -> None:
    run = {
        "loadgen refresh mavio": row(2400, gateway=1.0, loadgen=0.8),
        "loadgen refresh oidc-provider": row(3000, node=1.0, loadgen=0.7),
    }
    verdict, figures = cpu_goals.goal_2(run)
    assert verdict == "not met" and "0.80x the peer" in figures and "loadgen.py at 0.80 core" in figures
    run["loadgen refresh mavio"]["rps"] = 3000
    assert cpu_goals.goal_2(run)[0] == "met"
    assert cpu_goals.goal_2({})[0] == "not measured"


def test_goal_4_flags_a_row_below_the_previous_run_beyond_noise_but_not_http_rows_or_ceilings() -> None:
    before = {"verify x1": row(10_000), "nats echo": row(30_000), "refresh mavio": row(3000)}
    now = {"verify x1": row(7_500), "nats echo": row(10_000), "refresh mavio": row(1000)}
    p99s = [("refresh", 30.0, 60.0)]
    assert cpu_goals.goal_4(now, p99s, before)[0] == "met"
    now["verify x1"] = row(6_000)
    verdict, figures = cpu_goals.goal_4(now, p99s, before)
    assert verdict == "not met" and "verify x1 6,000/s (was 10,000/s)" in figures
    assert cpu_goals.goal_4(now, p99s, None)[0] == "not measured"


def test_goal_4_wants_a_p99_beside_every_ratio() -> None:
    verdict, figures = cpu_goals.goal_4({}, [("refresh", math.nan, 60.0)], {})
    assert verdict == "not met" and "no p99 for refresh" in figures


def test_the_markdown_carries_the_goals_the_cpu_columns_and_the_findings() -> None:
    results = http_run(refresh=0.5, exchange=0.9) | {
        "refresh mavio bench-only": row(2000, gateway=0.5, wrk=0.1),
        "loadgen refresh mavio": row(2400, gateway=1.0, loadgen=0.8),
        "loadgen refresh oidc-provider": row(3000, node=1.0, loadgen=0.7),
    }
    summary: dict[str, Any] = {
        "date": "today",
        "machine": {"cores": 2, "cpu": "", "python": "3.11", "kernel": ""},
        "load_before": 0.0,
        "load_after": 0.0,
        "repeats": 3,
        "results": results,
        "measures": [],
        "ratios": [],
    }
    summary["cpu"] = cpu_goals.compared(results)
    summary["findings"] = cpu_goals.compared(results, cpu_goals.FINDINGS)
    summary["goals"] = cpu_goals.goals(results, report._p99s(summary), None)
    text = report.markdown(summary)
    assert "- goal 1: **floor met**" in text and "- goal 2: **not met**" in text
    assert "- goal 4: **not measured**" in text
    assert "| refresh with rotation (HTTP) | 0.500 | 1.000 | **0.50** | 1.60 |" in text
    assert "| refresh: make run's stack vs the bench-only stack | 0.500 | 0.250 | **2.00** |" in text
    assert "CPU ms per successful request" in text and "load generator (cores)" in text
    # the peer's row: 1 core (node) at 1,000/s = 1 ms; wrk on its own column
    assert "| refresh oidc-provider | 1,000 | 5.00 | 8.00 | 10.00 | 0 | 1.00 | 1.000 | 0.10 |" in text


def test_processes_are_named_as_the_launcher_names_them() -> None:
    children = {
        12: ["/usr/bin/nats-server", "-c", "x.conf"],
        13: ["redis-server 127.0.0.1:6379"],  # redis-server rewrites its title
        20: ["/venv/bin/python", "-m", "services.token"],
        21: ["/venv/bin/python", "-m", "services.authorize"],
        22: ["/venv/bin/python", "-m", "services.token"],
        30: ["/venv/bin/python", "-m", "services.gateway"],
    }
    assert named_processes(11, children) == {
        SUPERVISOR: 11,
        "nats-server": 12,
        "redis-server": 13,
        "token-1": 20,
        "token-2": 22,
        "authorize-1": 21,
        "gateway": 30,
    }
    two = named_processes(11, {40: children[30], 41: children[30]})
    assert two == {SUPERVISOR: 11, "gateway-1": 40, "gateway-2": 41}
    assert process_name([]) == "?"


def test_the_launchers_environment_is_the_users_with_only_the_run_folder_port_and_replicas() -> None:
    environ = {"PATH": "/bin", "MAVIO_LOG_LEVEL": "debug", "MAVIO_NATS_URL": "nats://elsewhere:4222"}
    environ |= {"MAVIO_HTTP_PORT": "8080", "MAVIO_RUN_DIR": "/srv/run", "MAVIO_REDIS_PASSWORD": "x"}
    env = launcher_env(environ, run_dir=Path("/tmp/r"), port=5555, replicas={"gateway": 2})
    assert env == {
        "PATH": "/bin",
        "MAVIO_LOG_LEVEL": "debug",  # the user's own settings are the shipped ones
        "MAVIO_RUN_DIR": "/tmp/r",
        "MAVIO_HTTP_PORT": "5555",
        "MAVIO_GATEWAY_REPLICAS": "2",
    }


def test_loadgens_second_window_becomes_the_row_with_its_own_cpu_apart() -> None:
    first = {"rps": 1.0, "p50_ms": 1.0, "p90_ms": 1.0, "p99_ms": 1.0, "errors": 9, "loadgen_cpu": 0.1}
    second = {"rps": 2500.0, "p50_ms": 18.0, "p90_ms": 25.0, "p99_ms": 40.0, "errors": 0, "loadgen_cpu": 0.85}
    w = window_from({"windows": [first, second]}, {"gateway": 0.9, "other": 0.1})
    assert (w.rps, w.p50_ms, w.p90_ms, w.p99_ms, w.errors) == (2500.0, 18.0, 25.0, 40.0, 0)
    assert w.cpu == {"gateway": 0.9, "other": 0.1, "loadgen": 0.85}


CONSENT = """<form method="post" action="/logout"><input type="hidden" name="csrf_token" value="c"></form>
<form method="post" action="/oauth/authorize">
<input type="hidden" name="consent_token" value="t1">
<input type="checkbox" name="granted" value="openid" checked disabled>
<input type="checkbox" name="granted" value="meetings:read" checked>
<input type="checkbox" name="granted" value="recordings:read">
<button type="submit" name="decision" value="authorize">Authorize</button></form>"""


def test_the_form_fields_are_what_a_browser_submits() -> None:
    assert form_fields(CONSENT, "/oauth/authorize") == [("consent_token", "t1"), ("granted", "meetings:read")]
    assert form_fields(CONSENT, "/logout") == [("csrf_token", "c")]


def test_a_code_is_taken_only_from_a_redirect_to_the_client_carrying_one() -> None:
    assert code_of(f"{REDIRECT}?code=mavio_code_x&state=s") == "mavio_code_x"
    with pytest.raises(RuntimeError):
        code_of(f"{REDIRECT}?error=access_denied&state=s")
    with pytest.raises(RuntimeError):
        code_of("https://elsewhere.example/cb?code=mavio_code_x")
