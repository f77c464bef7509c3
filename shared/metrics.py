"""Prometheus metrics every bus service has, in one registry per process (never the global default).

``ServiceMetrics`` is built once in ``serve_bus_service`` and passed down: the runner counts each
request by subject and outcome and times it; ``connect_nats`` counts bus disconnects and reconnects;
``shared.store.make_redis`` reports Redis errors and recoveries to ``redis``. A service adds its own
metrics (tokens, sweeper, caches) to ``registry``. Names and meanings: ``docs/operations.md``.

Hot path: a route's label children are resolved once (``route``), so a request costs a histogram
observation and a counter increment.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

OK = "ok"
UNAVAILABLE = "unavailable"  # temporarily_unavailable: a dependency (Redis, another service) was away
# Seconds; a verification takes well under a millisecond, a cascade over many families seconds.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def outcome_of(error_code: str) -> str:
    """The ``outcome`` label of an error reply: the OAuth error code, or ``unavailable``."""
    return UNAVAILABLE if error_code == "temporarily_unavailable" else error_code


class RouteMetrics:
    """One route's label children, resolved once when the route is registered; an outcome's counter
    child is resolved on its first use and kept (outcomes are a small fixed set)."""

    __slots__ = ("_labels", "_outcomes", "_requests", "latency", "ok")

    def __init__(self, requests: Counter, latency: Histogram, *, service: str, subject: str) -> None:
        self._requests = requests
        self._labels = {"service": service, "subject": subject}
        self._outcomes: dict[str, Counter] = {}
        self.ok = self.outcome(OK)
        self.latency = latency.labels(service=service, subject=subject)

    def outcome(self, outcome: str) -> Counter:
        found = self._outcomes.get(outcome)
        if found is None:
            found = self._outcomes[outcome] = self._requests.labels(outcome=outcome, **self._labels)
        return found


class RedisHealth:
    """Redis errors and recoveries seen by one process's client (``shared.store.ObservedRetry``).

    Shared by every connection of the pool: redis-py deep-copies its retry policy per connection, and
    this object returns itself from ``__deepcopy__``."""

    def __init__(self, errors: Counter, reconnects: Counter) -> None:
        self._errors = errors
        self._reconnects = reconnects
        self.down = False

    def failed(self) -> None:
        self.down = True
        self._errors.inc()

    def succeeded(self) -> None:
        if self.down:
            self.down = False
            self._reconnects.inc()

    def __deepcopy__(self, memo: dict[int, object]) -> RedisHealth:
        return self


class ServiceMetrics:
    """The registry of one service process and the metrics every service has."""

    def __init__(self, service: str, registry: CollectorRegistry | None = None) -> None:
        self.service = service
        self.registry = registry if registry is not None else CollectorRegistry()
        reg = self.registry
        self.requests = Counter(
            "mavio_bus_requests",
            "Bus requests handled, by subject and outcome "
            "(ok, an OAuth error code, unavailable, server_error)",
            ["service", "subject", "outcome"],
            registry=reg,
        )
        self.latency = Histogram(
            "mavio_bus_request_seconds",
            "Time a replica spent on a request (decode, handler, encode), by subject",
            ["service", "subject"],
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        self.bus_disconnects = Counter(
            "mavio_bus_disconnects", "Times the NATS connection was lost", ["service"], registry=reg
        ).labels(service=service)
        self.bus_reconnects = Counter(
            "mavio_bus_reconnects", "Times the NATS connection was re-established", ["service"], registry=reg
        ).labels(service=service)
        redis_errors = Counter(
            "mavio_redis_errors",
            "Redis commands or connection attempts that failed (connection lost, timeout)",
            ["service"],
            registry=reg,
        ).labels(service=service)
        redis_reconnects = Counter(
            "mavio_redis_reconnects",
            "Times Redis answered again after errors",
            ["service"],
            registry=reg,
        ).labels(service=service)
        self.redis = RedisHealth(redis_errors, redis_reconnects)
        self.replies_refused = Counter(
            "mavio_bus_replies_refused",
            "Requests dropped unanswered: their reply subject was not a known bus user's inbox",
            ["service"],
            registry=reg,
        ).labels(service=service)

    def route(self, subject: str) -> RouteMetrics:
        return RouteMetrics(self.requests, self.latency, service=self.service, subject=subject)


class CacheCounters:
    """Hits and misses of one cache (label children resolved once)."""

    __slots__ = ("hit", "miss")

    def __init__(self, lookups: Counter, cache: str) -> None:
        self.hit = lookups.labels(cache=cache, result="hit")
        self.miss = lookups.labels(cache=cache, result="miss")


def cache_lookups(registry: CollectorRegistry) -> Counter:
    """``mavio_cache_lookups_total{cache, result}``: register once per registry, then ``CacheCounters``."""
    return Counter(
        "mavio_cache_lookups",
        "Lookups in a process's cache, by cache (client_auth, verify) and result (hit, miss)",
        ["cache", "result"],
        registry=registry,
    )


def tokens_revoked(registry: CollectorRegistry) -> Counter:
    """``mavio_tokens_revoked_total{reason}``: codes and tokens deleted by a revocation."""
    return Counter(
        "mavio_tokens_revoked",
        "Codes and tokens deleted by a revocation, by reason (rfc7009, code_reused, app_deleted, ...)",
        ["reason"],
        registry=registry,
    )


def credentials_leaked(registry: CollectorRegistry) -> Counter:
    """``mavio_credentials_leaked_total{credential_type, reporter}``: live credentials revoked because
    a leak report named them (reporter ``scanner``: a signed secret-scanning report; ``owner``: the
    app page's form)."""
    return Counter(
        "mavio_credentials_leaked",
        "Live credentials revoked after a leak report, by type and reporter (scanner or owner)",
        ["credential_type", "reporter"],
        registry=registry,
    )
