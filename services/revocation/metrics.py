"""The revocation service's own Prometheus metrics (beside ``shared.metrics.ServiceMetrics``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from shared.metrics import credentials_leaked, tokens_revoked


class SweeperMetrics:
    """The TTL sweeper's work list as this replica last measured it (every replica measures, after
    each of its passes, whether or not it holds the lease: take the max over replicas)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.lag = Gauge(
            "mavio_sweeper_lag_seconds",
            "Age of the oldest due item of the sweeper's work list (0: nothing is due)",
            registry=registry,
        )
        self.backlog = Gauge(
            "mavio_sweeper_backlog",
            "Items of the sweeper's work list that are due (expired families not yet cleaned up)",
            registry=registry,
        )
        self.swept = Counter(
            "mavio_sweeper_swept_families",
            "Expired families this replica's sweeper cleaned up",
            registry=registry,
        )


class RevocationMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        reg = registry if registry is not None else CollectorRegistry()
        self.registry = reg
        self.revoked = tokens_revoked(reg)
        self.leaked = credentials_leaked(reg)
        self.sweeper = SweeperMetrics(reg)
        self.commands_pending = Gauge(
            "mavio_revocation_commands_pending",
            "Commands in revocation's queue not yet done (app deletions, revoke-all, plan changes), "
            "as this replica last measured",
            registry=reg,
        )
