"""Redis connections (single node or Redis Cluster); stores in each service get one passed in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Final, TypeVar

import redis.asyncio as aioredis
import redis.exceptions
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from shared.config import Settings
from shared.metrics import RedisHealth
from shared.redis_packing import with_hiredis_packing

Redis = Any  # redis.asyncio.Redis or RedisCluster: the same command API for our purposes
T = TypeVar("T")

# Redis errors that mean "not reachable right now" (down, restarting, loading its data, a cluster
# failing over): the request gets ``temporarily_unavailable`` (503), never a server error and never
# an answer made up without the data (an "inactive" token that is in fact valid).
UNAVAILABLE: Final[tuple[type[Exception], ...]] = (
    redis.exceptions.ConnectionError,  # BusyLoadingError (LOADING) included
    redis.exceptions.TimeoutError,
    redis.exceptions.ClusterDownError,
    redis.exceptions.TryAgainError,
)


def _reconnectable(exc: Exception) -> bool:
    """Worth one more attempt on a fresh connection: the pooled one was dead (e.g. Redis restarted).
    A timeout is not retried: the command may have run, and the caller's deadline is near."""
    return isinstance(exc, redis.exceptions.ConnectionError)


class ObservedRetry(Retry):
    """A command whose connection turned out dead is tried once more on a fresh one (after a Redis
    restart every pooled connection is stale); each failure that reaches the caller, and the first
    success after them, is reported to ``health``.

    It must be the asyncio ``Retry``: the synchronous ``redis.retry.Retry`` is accepted by the asyncio
    client but never retries (its loop returns the coroutine unawaited), which made the first command
    on each pooled connection fail after a Redis restart."""

    def __init__(self, health: RedisHealth | None = None) -> None:
        super().__init__(ExponentialBackoff(cap=0.5, base=0.05), 1)
        self._health = health

    async def call_with_retry(
        self,
        do: Callable[[], Awaitable[T]],
        fail: Any,
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> T:
        retryable = is_retryable or _reconnectable
        if self._health is None:
            return await super().call_with_retry(do, fail, retryable, with_failure_count)
        try:
            result = await super().call_with_retry(do, fail, retryable, with_failure_count)
        except self._supported_errors:
            self._health.failed()
            raise
        if self._health.down:
            self._health.succeeded()
        return result


def make_redis(settings: Settings, health: RedisHealth | None = None) -> Redis:
    """A client that reconnects by itself; commands fail fast while Redis is away. On a single node,
    ``health`` (the process's metrics) hears of every failure and recovery; a cluster client keeps its
    own retry policy (its node clients do not retry) and reports nothing."""
    auth = credentials(settings)
    if settings.redis_cluster:
        retry = Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2)
        return RedisCluster.from_url(settings.redis_url, retry=retry, **auth)
    client = aioredis.Redis.from_url(
        settings.redis_url,
        retry=ObservedRetry(health),
        **auth,
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=0,
        max_connections=256,
    )
    pool = client.connection_pool  # the URL chose TCP, TLS or a Unix socket; each packs with hiredis
    pool.connection_class = with_hiredis_packing(pool.connection_class)
    return client


def credentials(settings: Settings) -> dict[str, Any]:
    """The ACL user and password (``MAVIO_REDIS_USER`` / ``MAVIO_REDIS_PASSWORD``), when set."""
    auth: dict[str, Any] = {}
    if settings.redis_user:
        auth["username"] = settings.redis_user
    if settings.redis_password:
        auth["password"] = settings.redis_password
    return auth


@asynccontextmanager
async def open_redis(settings: Settings, health: RedisHealth | None = None) -> AsyncIterator[Redis]:
    client = make_redis(settings, health)
    try:
        yield client
    finally:
        await client.aclose()
