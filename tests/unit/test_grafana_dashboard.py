"""``deploy/grafana-dashboard.json`` uses only metrics the code registers, and shows every one of them.

The names come from the real registries (each service's ``ServiceMetrics`` plus its own metrics, and the
gateway's), not from grepping the code; a query's name must be one Prometheus is actually sent
(``_total`` of a counter, ``_bucket``/``_count``/``_sum`` of a histogram, a gauge's bare name).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from services.gateway.metrics import GatewayMetrics
from services.revocation.metrics import RevocationMetrics
from services.token.metrics import TokenMetrics
from services.webhooks.metrics import WebhookMetrics
from shared import subjects
from shared.metrics import ServiceMetrics

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana-dashboard.json"
OWN_METRICS = {"token": TokenMetrics, "revocation": RevocationMetrics, "webhooks": WebhookMetrics}
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_LABEL_LIST = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_NAME = re.compile(r"(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(?!\w)(\s*\()?")
KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "and",
    "or",
    "unless",
}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression (or a ``label_values(metric, label)`` query) selects."""
    expr = re.sub(r"label_values\(\s*([^,)]+),[^)]*\)", r"\1", expr)
    for pattern in (_STRING, _MATCHERS, _RANGE, _LABEL_LIST):
        expr = pattern.sub(" ", expr)
    return {m[1] for m in _NAME.finditer(expr) if not m[2] and m[1] not in KEYWORDS}


def exposed_names() -> dict[str, str]:
    """Every sample name the processes expose -> its family, built from the real registries."""
    registries: list[CollectorRegistry] = [GatewayMetrics().registry]
    for service in subjects.SERVICES:
        registry = ServiceMetrics(service).registry
        if service in OWN_METRICS:
            OWN_METRICS[service](registry)
        registries.append(registry)
    out: dict[str, str] = {}
    for registry in registries:
        for family in registry.collect():
            for suffix in SUFFIXES[family.type]:
                out[family.name + suffix] = family.name
    return out


def queries(dashboard: dict[str, Any]) -> list[str]:
    found = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    for variable in dashboard["templating"]["list"]:
        query = variable.get("query")
        if variable.get("type") == "query":
            found.append(query["query"] if isinstance(query, dict) else query)
    return found


def test_the_expression_parser_finds_metric_names_and_nothing_else() -> None:
    expr = (
        "histogram_quantile(0.99, sum by (le, subject) (rate(mavio_bus_request_seconds_bucket"
        '{service=~"$service", outcome!="ok"}[$__rate_interval]))) / on (job) group_left (x) up offset 5m'
        " and bool other_metric"
    )
    assert metric_names(expr) == {"mavio_bus_request_seconds_bucket", "up", "other_metric"}
    assert metric_names("label_values(mavio_bus_requests_total, service)") == {"mavio_bus_requests_total"}
    assert metric_names("max(mavio_sweeper_lag_seconds)") == {"mavio_sweeper_lag_seconds"}


def test_every_metric_the_dashboard_queries_is_exposed_by_the_code() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exposed = exposed_names()
    used = {name for expr in queries(dashboard) for name in metric_names(expr)}
    assert used, "the dashboard has no queries"
    assert sorted(used - exposed.keys()) == []


def test_every_metric_the_code_registers_is_on_the_dashboard() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    used = {name for expr in queries(dashboard) for name in metric_names(expr)}
    families = {family for name, family in exposed_names().items() if name in used}
    assert sorted(set(exposed_names().values()) - families) == []


def test_every_panel_is_well_formed() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "mavio-oauth" and dashboard["title"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["title"] and panel["description"] and panel["targets"], panel["title"]
        assert {t["refId"] for t in panel["targets"]} == {chr(65 + i) for i in range(len(panel["targets"]))}
        assert panel["datasource"]["uid"] == "${datasource}"
