"""Typed application state (aiohttp ``web.AppKey``), shared by the gateway's modules."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import jinja2
from aiohttp import web
from nats.aio.client import Client as NATS

from services.gateway.client_address import Network
from services.gateway.metrics import GatewayMetrics
from services.gateway.request_ids import RequestIds
from services.gateway.sign_in_gate import SignInGate
from shared.bus import Bus
from shared.config import Settings
from shared.scopes import ScopeCatalog
from shared.store import Redis

if TYPE_CHECKING:
    from services.gateway.ratelimit import Counters
    from services.gateway.token_batch import TokenBatcher
    from shared.leak_reporters import ReporterKeys

SETTINGS = web.AppKey("settings", Settings)
BUS = web.AppKey("bus", Bus)
NC = web.AppKey("nc", NATS)
REDIS = web.AppKey("redis", object)  # redis.asyncio.Redis | RedisCluster
TEMPLATES = web.AppKey("templates", jinja2.Environment)
METRICS = web.AppKey("metrics", GatewayMetrics)
REQUEST_IDS = web.AppKey("request_ids", RequestIds)
CATALOG = web.AppKey("catalog", ScopeCatalog)
SIGN_IN_GATE = web.AppKey("sign_in_gate", SignInGate)
TRUSTED_PROXIES: web.AppKey[tuple[Network, ...]] = web.AppKey("trusted_proxies")  # parsed once
# The token endpoint's requests, many per bus message (``services.gateway.token_batch``).
TOKEN_BATCH: web.AppKey[TokenBatcher] = web.AppKey("token_batch")
RATE_LIMITS: web.AppKey[Counters] = web.AppKey("rate_limits")  # the counters of ``ratelimit``
# Trusted leak reporters' keys (``services.gateway.leaks``); None: the leak endpoint is not configured.
LEAK_REPORTERS: web.AppKey[ReporterKeys | None] = web.AppKey("leak_reporters")
LOGO_DECODES = web.AppKey("logo_decodes", asyncio.Semaphore)  # logo decodes at once in this process


def redis_of(app: web.Application) -> Redis:
    return app[REDIS]


# Per-request state (aiohttp ``web.RequestKey``).
REQUEST_ID = web.RequestKey("request_id", str)
