"""Bus handlers of the revocation service: decode -> domain -> store -> encode.

``build_routes`` wires RFC 7009 revocation, the app and grant cascades, connected apps and plan changes
to one Redis store (reusing the token store's family operations), the registry client and the event
publisher; it also starts the TTL sweeper (stopped, lease released, when the service stops) and listens
for the operator CLI's plan-changed event in the service's queue group (one replica handles each).
"""

from __future__ import annotations

import gc
import os
import socket
import uuid
from typing import Any

import msgspec
import structlog
from nats.aio.msg import Msg

from services.revocation.cascade import APP_REASONS, Cascades
from services.revocation.connected import ConnectedApps
from services.revocation.domain import lease_ttl_ms
from services.revocation.lease import Lease
from services.revocation.plans import PlanNarrower
from services.revocation.publisher import event_publisher
from services.revocation.rfc7009 import TokenRevoker
from services.revocation.store import RedisRevocationStore
from services.revocation.sweep_store import RedisSweepStore
from services.revocation.sweeper import Sweeper
from services.token.handlers import build_store as build_token_store
from shared import keys, subjects
from shared.errors import InvalidRequest
from shared.events import decode_event, ensure_audit_stream
from shared.lifecycle import ServiceContext
from shared.messages import events as ev
from shared.messages.revocation import (
    ConnectedAppsReply,
    ConnectedAppsRequest,
    PlanChangedReply,
    PlanChangedRequest,
    RevokeAppReply,
    RevokeAppRequest,
    RevokeGrantReply,
    RevokeGrantRequest,
    RevokeTokenReply,
    RevokeTokenRequest,
)
from shared.registry_client import RegistryClient
from shared.scopes import ScopeCatalog
from shared.service import Meta, Route
from shared.tokens import Signer

log = structlog.get_logger("mavio.revocation")


def build_sweeper(ctx: ServiceContext) -> Sweeper:
    """The sweeper of this replica. Also freezes the objects alive now (modules, clients, scripts) out
    of the garbage collector's way: a full collection, which a sweep's churn triggers, then scans only
    young objects instead of pausing the loop for the whole heap (``gc.freeze``)."""
    gc.freeze()
    s = ctx.settings
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
    lease = Lease(ctx.redis, keys.sweep_lease(), ttl_ms=lease_ttl_ms(s.sweep_interval), holder=holder)
    store = RedisSweepStore(ctx.redis)
    publish = event_publisher(ctx.nc)
    nc = ctx.nc
    return Sweeper(
        store,
        lease,
        publish,
        interval=s.sweep_interval,
        code_ttl=s.code_ttl,
        active=lambda: nc.is_connected and not nc.is_draining,
    )


class Handlers:
    """One method per bus endpoint: decode (done by the runner) -> domain -> encode."""

    def __init__(
        self, revoker: TokenRevoker, cascades: Cascades, narrower: PlanNarrower, connected: ConnectedApps
    ) -> None:
        self.revoker = revoker
        self.cascades = cascades
        self.narrower = narrower
        self.connected = connected

    async def revoke(self, req: RevokeTokenRequest, meta: Meta) -> RevokeTokenReply:
        return await self.revoker.revoke(req, request_id=meta.request_id)

    async def revoke_app(self, req: RevokeAppRequest, _: Meta) -> RevokeAppReply:
        if req.reason not in APP_REASONS or not req.client_id:
            raise InvalidRequest(f"reason must be one of: {', '.join(APP_REASONS)}")
        structlog.contextvars.bind_contextvars(client_id=req.client_id)
        return RevokeAppReply(families_revoked=await self.cascades.revoke_app(req.client_id, req.reason))

    async def revoke_grant(self, req: RevokeGrantRequest, _: Meta) -> RevokeGrantReply:
        structlog.contextvars.bind_contextvars(client_id=req.client_id)
        revoked = await self.cascades.revoke_grant(req.user_id, req.client_id)
        return RevokeGrantReply(families_revoked=revoked)

    async def connected_apps(self, req: ConnectedAppsRequest, meta: Meta) -> ConnectedAppsReply:
        return await self.connected.list(req.user_id, request_id=meta.request_id)

    async def plan_changed(self, req: PlanChangedRequest, _: Meta) -> PlanChangedReply:
        return await self.narrower.plan_changed(req.user_id, req.plan)

    def routes(self) -> list[Route[Any]]:
        return [
            Route("revoke", subjects.REVOCATION_REVOKE, RevokeTokenRequest, self.revoke),
            Route("app.revoke_all", subjects.REVOCATION_REVOKE_APP, RevokeAppRequest, self.revoke_app),
            Route("grant.revoke", subjects.REVOCATION_REVOKE_GRANT, RevokeGrantRequest, self.revoke_grant),
            Route(
                "connected_apps",
                subjects.REVOCATION_CONNECTED_APPS,
                ConnectedAppsRequest,
                self.connected_apps,
            ),
            Route("plan_changed", subjects.REVOCATION_PLAN_CHANGED, PlanChangedRequest, self.plan_changed),
        ]


async def build_handlers(ctx: ServiceContext) -> Handlers:
    s = ctx.settings
    store = RedisRevocationStore(ctx.redis, build_token_store(ctx))
    publish = event_publisher(ctx.nc)
    catalog = ScopeCatalog.load()
    cached = RegistryClient(ctx.bus, cache_ttl=s.app_cache_ttl)
    await cached.watch(ctx.nc)
    await ensure_audit_stream(ctx.nc)
    cascades = Cascades(store, publish)
    return Handlers(
        TokenRevoker(RegistryClient(ctx.bus), store, cascades, Signer(s.hmac_key), publish),
        cascades,
        PlanNarrower(store, cascades, catalog, publish),
        ConnectedApps(store, cached, catalog, code_ttl=s.code_ttl),
    )


async def build_routes(ctx: ServiceContext) -> list[Route[Any]]:
    handlers = await build_handlers(ctx)
    await _listen_for_plan_events(ctx, handlers.narrower)
    sweeper = build_sweeper(ctx)
    sweeper.start()
    ctx.stack.push_async_callback(sweeper.close)
    return handlers.routes()


async def _listen_for_plan_events(ctx: ServiceContext, narrower: PlanNarrower) -> None:
    """``mavio-oauth users set-plan`` announces ``PlanChanged`` on ``subjects.EVENT_PLAN_CHANGED``."""

    async def on_plan_event(msg: Msg) -> None:
        try:
            event = decode_event(msg.data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("unreadable plan event", debug=str(exc))
            return
        if not isinstance(event, ev.PlanChanged):
            return
        try:
            await narrower.plan_changed(event.user_id, event.plan)
        except Exception as exc:
            log.error("plan change not applied", user_id=event.user_id, debug=repr(exc))

    await ctx.nc.subscribe(subjects.EVENT_PLAN_CHANGED, queue=subjects.REVOCATION, cb=on_plan_event)
