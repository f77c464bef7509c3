"""``RedisGrantStore``: every contract of ``shared.grants.storage`` on one Redis (or Redis Cluster).

One class per artefact (codes, tokens, indexes, consents), combined here so a service holds one client;
each service types what it uses by the narrow contracts it needs.
"""

from __future__ import annotations

from shared.config import Settings
from shared.grants.codes import RedisCodes
from shared.grants.consents import RedisConsents
from shared.grants.devices import RedisDevices
from shared.grants.first_issue import RedisFirstIssue
from shared.store import Redis


class RedisGrantStore(RedisCodes, RedisFirstIssue, RedisConsents, RedisDevices):
    """Codes, device authorizations, access and refresh tokens, families, indexes and grants (the
    artefact classes' union)."""


def grant_store(redis: Redis, settings: Settings) -> RedisGrantStore:
    """The grant store configured from ``settings`` (TTLs, replay window, cluster mode)."""
    return RedisGrantStore(
        redis,
        access_ttl=settings.access_token_ttl,
        refresh_ttl=settings.refresh_token_ttl,
        replay_window_ms=settings.refresh_replay_window * 1000,
        hold_ttl=settings.code_ttl,
        cluster=settings.redis_cluster,
    )
