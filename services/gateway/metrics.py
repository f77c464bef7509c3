"""Prometheus metrics of the gateway, in their own registry (no global default registry)."""

from __future__ import annotations

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
