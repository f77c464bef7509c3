"""Prometheus metrics of the gateway, in their own registry (no global default registry)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "mavio_http_requests_total",
            "HTTP requests by route and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mavio_http_request_seconds",
            "HTTP request latency by route",
            ["route"],
            registry=self.registry,
        )
        # label children, looked up once per (route, method, status): ``labels()`` costs per request
        self._counted: dict[tuple[str, str, int], Any] = {}
        self._timed: dict[str, Any] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """One request: counted by route, method and status, its latency by route."""
        key = (route, method, status)
        counted = self._counted.get(key)
        if counted is None:
            counted = self._counted[key] = self.requests.labels(route, method, str(status))
        timed = self._timed.get(route)
        if timed is None:
            timed = self._timed[route] = self.latency.labels(route)
        counted.inc()
        timed.observe(seconds)
