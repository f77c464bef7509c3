"""The webhooks service's own Prometheus metrics (beside ``shared.metrics.ServiceMetrics``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class WebhookMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        reg = registry if registry is not None else CollectorRegistry()
        self.attempts = Counter(
            "mavio_webhook_attempts",
            "Delivery attempts by outcome: delivered (2xx), http_error (another status), timeout, "
            "refused (SSRF rule), error (connection and others), deferred (app at its in-flight limit)",
            ["outcome"],
            registry=reg,
        )
        self.finished = Counter(
            "mavio_webhook_deliveries",
            "Deliveries finished, by status: delivered, failed, disabled (endpoint disabled)",
            ["status"],
            registry=reg,
        )
        self.events = Counter(
            "mavio_webhook_events",
            "Webhook events made from the audit stream, by type",
            ["type"],
            registry=reg,
        )
        self.latency = Histogram(
            "mavio_webhook_attempt_seconds", "Time of one delivery attempt (HTTP)", registry=reg
        )

    def attempt(self, ok: bool, status: str) -> None:
        if ok:
            outcome = "delivered"
        elif status.isdigit():
            outcome = "http_error"
        elif status == "timeout":
            outcome = "timeout"
        elif status.startswith("address refused"):
            outcome = "refused"
        else:
            outcome = "error"
        self.attempts.labels(outcome=outcome).inc()
