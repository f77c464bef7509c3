"""Redis connections (single node or Redis Cluster); stores in each service get one passed in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from shared.config import Settings

Redis = Any  # redis.asyncio.Redis or RedisCluster: the same command API for our purposes


def make_redis(settings: Settings) -> Redis:
    """A client that reconnects by itself; commands fail fast while Redis is away."""
    retry = Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2)
    auth = credentials(settings)
    if settings.redis_cluster:
        return RedisCluster.from_url(settings.redis_url, retry=retry, **auth)
    return aioredis.Redis.from_url(
        settings.redis_url,
        retry=retry,
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
async def open_redis(settings: Settings) -> AsyncIterator[Redis]:
    client = make_redis(settings)
    try:
        yield client
    finally:
        await client.aclose()
