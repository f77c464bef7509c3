"""The gateway: the only HTTP process. ``create_app`` builds it; resources live in ``cleanup_ctx``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from services.gateway import leaks as leak_reports
from services.gateway import limits, middleware, server
from services.gateway.announce import announce
from services.gateway.client_address import parse_networks
from services.gateway.keys import (
    BUS,
    CATALOG,
    LOGO_DECODES,
    METRICS,
    NC,
    RATE_LIMITS,
    REDIS,
    REQUEST_IDS,
    SETTINGS,
    SIGN_IN_GATE,
    TEMPLATES,
    TOKEN_BATCH,
    TRUSTED_PROXIES,
)
from services.gateway.metrics import GatewayMetrics
from services.gateway.ratelimit import Counters
from services.gateway.rendering import make_templates
from services.gateway.replicas import Replicas
from services.gateway.request_ids import RequestIds
from services.gateway.routes import (
    accounts,
    apps_api,
    assets,
    authorize,
    developer,
    device,
    health,
    leaks,
    logout,
    oidc,
    revocation,
    settings,
    token,
    webhooks_api,
)
from services.gateway.security_headers import add_security_headers
from services.gateway.sign_in_gate import SignInGate
from services.gateway.token_batch import TokenBatcher
from shared.bus import Bus
from shared.config import Settings
from shared.lifecycle import connect_nats
from shared.scopes import ScopeCatalog
from shared.shutdown import close_nats
from shared.store import make_redis

ROUTE_MODULES = (
    health,
    assets,
    accounts,
    settings,
    developer,
    apps_api,
    webhooks_api,
    authorize,
    logout,
    token,
    oidc,
    device,
    revocation,
    leaks,
)
STATIC = Path(__file__).parent / "static"
# The body limit of most routes; ``services.gateway.limits`` gives the others theirs (a request is cloned
# only for a route whose limit differs, or when a trusted proxy names the client's address).
MAX_BODY = limits.DEFAULT_BODY


async def _connections(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    redis = make_redis(settings)
    nc = await connect_nats(settings, name="gateway")
    app[REDIS] = redis
    app[RATE_LIMITS] = Counters(redis, settings.hmac_key, settings.rate_limit_window)
    app[NC] = nc
    app[BUS] = Bus(nc, timeout=settings.bus_timeout)
    replicas = Replicas(nc)
    await replicas.start()
    app[TOKEN_BATCH] = TokenBatcher(app[BUS], replicas=replicas)
    await announce(nc, settings)  # listed by ``mavio-oauth status`` ($SRV discovery) while connected
    yield
    await app[TOKEN_BATCH].close()  # the batches on their way are answered before the bus closes
    await replicas.close()
    await close_nats(nc)  # bounded: quick and quiet when the bus is already gone
    await redis.aclose()


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        middlewares=[middleware.request_context, limits.request_limits],
        client_max_size=MAX_BODY,
        handler_args=server.handler_args(settings),
    )
    app.on_response_prepare.append(add_security_headers)
    app[SETTINGS] = settings
    app[TEMPLATES] = make_templates()
    app[METRICS] = GatewayMetrics()
    app[REQUEST_IDS] = RequestIds()
    app[CATALOG] = ScopeCatalog.load()
    app[SIGN_IN_GATE] = SignInGate(capacity=settings.login_concurrency, wait=settings.login_queue_wait)
    app[LOGO_DECODES] = asyncio.Semaphore(2)
    app[TRUSTED_PROXIES] = parse_networks(settings.trusted_proxies)
    app.cleanup_ctx.append(_connections)
    app.cleanup_ctx.append(leak_reports.reporter_keys)
    for module in ROUTE_MODULES:
        app.router.add_routes(module.routes)
    app.router.add_static("/static/", STATIC, name="static")
    return app
