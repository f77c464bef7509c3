"""The token service's own Prometheus metrics (beside ``shared.metrics.ServiceMetrics``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from shared.metrics import CacheCounters, cache_lookups, tokens_revoked


class TokenMetrics:
    """Registered on the process's registry once; the flows hold the label children they count."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        reg = registry if registry is not None else CollectorRegistry()
        self.registry = reg
        issued = Counter(
            "mavio_tokens_issued",
            "Access/refresh token pairs issued, by grant type (a code's first pair; a refresh's successor)",
            ["grant_type"],
            registry=reg,
        )
        self.issued_by_code = issued.labels(grant_type="authorization_code")
        self.issued_by_refresh = issued.labels(grant_type="refresh_token")
        refreshed = Counter(
            "mavio_tokens_refreshed",
            "Refresh requests answered with tokens: rotated (a new pair) or replayed (a racer within "
            "MAVIO_REFRESH_REPLAY_WINDOW got the same pair)",
            ["result"],
            registry=reg,
        )
        self.rotated = refreshed.labels(result="rotated")
        self.replayed = refreshed.labels(result="replayed")
        self.replays_refused = Counter(
            "mavio_refresh_replays_refused",
            "Refresh replays within MAVIO_REFRESH_REPLAY_WINDOW that asked for another scope than the "
            "rotation issued: refused with invalid_grant, nothing revoked, audited as suspicious",
            registry=reg,
        )
        reuse = Counter(
            "mavio_token_reuse_detected",
            "A used code or rotated refresh token presented again: its grant was revoked",
            ["kind"],
            registry=reg,
        )
        self.code_reused = reuse.labels(kind="code")
        self.refresh_reused = reuse.labels(kind="refresh")
        self.revoked = tokens_revoked(reg)
        verified = Counter(
            "mavio_tokens_verified",
            "Bearer tokens verified for resource servers (token.verify, and each token of a "
            "token.verify_many message), by answer",
            ["result"],
            registry=reg,
        )
        self.verified_active = verified.labels(result="active")
        self.verified_inactive = verified.labels(result="inactive")
        self.client_auth_cache = CacheCounters(cache_lookups(reg), "client_auth")
