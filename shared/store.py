"""Redis connections (single node or Redis Cluster); stores in each service get one passed in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.retry import Retry

from shared.config import Settings
from shared.metrics import RedisHealth

Redis = Any  # redis.asyncio.Redis or RedisCluster: the same command API for our purposes
T = TypeVar("T")


class ObservedRetry(AsyncRetry):
    """One attempt per command, as before, reporting each failure and the first success after them.

    The asyncio client needs the asyncio ``Retry``: the synchronous one it was given before never
    retried anything (its ``call_with_retry`` returned the coroutine unawaited), so commands have
    always had one attempt; ``retries=0`` keeps exactly that."""

    def __init__(self, health: RedisHealth) -> None:
        super().__init__(NoBackoff(), 0)
        self._health = health

    async def call_with_retry(
        self,
        do: Callable[[], Awaitable[T]],
        fail: Any,
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> T:
        try:
            result = await super().call_with_retry(do, fail, is_retryable, with_failure_count)
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
    retry = Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2)
    auth = credentials(settings)
    if settings.redis_cluster:
        return RedisCluster.from_url(settings.redis_url, retry=retry, **auth)
    return aioredis.Redis.from_url(
        settings.redis_url,
        retry=retry if health is None else ObservedRetry(health),
        **auth,
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=0,
        max_connections=256,
    )


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
