"""Bus handlers of the revocation service: decode -> domain -> store -> encode.

``build_routes`` wires RFC 7009 revocation, the app and grant cascades and connected apps to the grant
store (``shared.grants``), the registry client and the event publisher; it also starts the worker of
the registry's commands (revoke an app, narrow to a plan: ``services.revocation.commands``, from the
durable queue only this service consumes, never from broadcast events) and the TTL sweeper (both
stopped, the lease released, when the service stops).
"""

from __future__ import annotations

import gc
import os
import socket
import uuid
from typing import Any

import structlog
from nats.aio.client import Client as NATS

from services.revocation.cascade import APP_REASONS, Cascades
from services.revocation.commands import CommandWorker
from services.revocation.connected import ConnectedApps
from services.revocation.domain import lease_ttl_ms
from services.revocation.leaks import LeakedTokens
from services.revocation.lease import Lease
from services.revocation.metrics import RevocationMetrics
from services.revocation.plans import PlanNarrower
from services.revocation.publisher import Publish, event_publisher
from services.revocation.rfc7009 import TokenRevoker
from services.revocation.sweeper import Sweeper
from shared import keys, subjects
from shared.errors import InvalidRequest, TemporarilyUnavailable
from shared.events import ensure_audit_stream_at_start
from shared.grants.store import grant_store
from shared.grants.sweep import RedisSweepStore
from shared.lifecycle import ServiceContext
from shared.messages import events as ev
from shared.messages.commands import Command, NarrowToPlan, RevokeApp
from shared.messages.leaks import ReportLeakedReply, ReportLeakedRequest
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
    RevokeUserAccessReply,
    RevokeUserAccessRequest,
)
from shared.registry_client import RegistryClient
from shared.scopes import PLANS, ScopeCatalog
from shared.service import Meta, Route
from shared.tokens import Signer

log = structlog.get_logger("mavio.revocation")

OPERATOR_REASON = "operator"  # ``TokensRevoked.reason`` when the operator ended a user's access


def build_sweeper(
    ctx: ServiceContext, metrics: RevocationMetrics | None = None, *, writer: NATS | None = None
) -> Sweeper:
    """The sweeper of this replica. Also freezes the objects alive now (modules, clients, scripts) out
    of the garbage collector's way: a full collection, which a sweep's churn triggers, then scans only
    young objects instead of pausing the loop for the whole heap (``gc.freeze``)."""
    gc.freeze()
    s = ctx.settings
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
    lease = Lease(ctx.redis, keys.sweep_lease(), ttl_ms=lease_ttl_ms(s.sweep_interval), holder=holder)
    store = RedisSweepStore(ctx.redis, cluster=s.redis_cluster)
    publish = event_publisher(ctx.nc, writer)
    nc = ctx.nc
    return Sweeper(
        store,
        lease,
        publish,
        interval=s.sweep_interval,
        code_ttl=s.code_ttl,
        active=lambda: nc.is_connected and not nc.is_draining,
        metrics=None if metrics is None else metrics.sweeper,
    )


class Handlers:
    """One method per bus endpoint: decode (done by the runner) -> domain -> encode."""

    def __init__(
        self,
        revoker: TokenRevoker,
        cascades: Cascades,
        narrower: PlanNarrower,
        connected: ConnectedApps,
        registry: RegistryClient,
        publish: Publish,
        leaks: LeakedTokens,
    ) -> None:
        self.leaks = leaks
        self.revoker = revoker
        self.cascades = cascades
        self.narrower = narrower
        self.connected = connected
        self.registry = registry
        self.publish = publish

    async def revoke(self, req: RevokeTokenRequest, meta: Meta) -> RevokeTokenReply:
        return await self.revoker.revoke(req, request_id=meta.request_id)

    async def leaked(self, req: ReportLeakedRequest, _: Meta) -> ReportLeakedReply:
        """A leak report's well-formed tokens (the gateway checked the reporter): revoke each live
        one's grant (``services.revocation.leaks``)."""
        return await self.leaks.report(req)

    async def revoke_app(self, req: RevokeAppRequest, _: Meta) -> RevokeAppReply:
        """The direct subject (of the bus users only the operator CLI's may publish it): an owner's
        "revoke all tokens" is the registry's command, which reaches ``run_command`` from the queue."""
        return await self._revoke_app(req.client_id, req.reason, req.actor)

    async def _revoke_app(self, client_id: str, reason: str, actor: str) -> RevokeAppReply:
        if reason not in APP_REASONS or not client_id:
            raise InvalidRequest(f"reason must be one of: {', '.join(APP_REASONS)}")
        structlog.contextvars.bind_contextvars(client_id=client_id)
        revoked = await self.cascades.revoke_app(client_id, reason, actor=actor)
        return RevokeAppReply(families_revoked=revoked)

    async def revoke_grant(self, req: RevokeGrantRequest, _: Meta) -> RevokeGrantReply:
        structlog.contextvars.bind_contextvars(client_id=req.client_id)
        revoked = await self.cascades.revoke_grant(req.user_id, req.client_id)
        return RevokeGrantReply(families_revoked=revoked)

    async def revoke_user_access(self, req: RevokeUserAccessRequest, _: Meta) -> RevokeUserAccessReply:
        """The operator ends a user's access (``mavio-oauth users revoke-access``): the grant to one app,
        or every grant of the user, revoked with reason ``operator``."""
        if not req.user_id:
            raise InvalidRequest("user_id is required")
        client_ids = (
            [req.client_id] if req.client_id else sorted(await self.cascades.granted_apps(req.user_id))
        )
        revoked = 0
        for client_id in client_ids:
            revoked += await self.cascades.revoke_grant(
                req.user_id, client_id, reason=OPERATOR_REASON, actor=req.actor or ev.OPERATOR
            )
        return RevokeUserAccessReply(client_ids=client_ids, families_revoked=revoked)

    async def connected_apps(self, req: ConnectedAppsRequest, meta: Meta) -> ConnectedAppsReply:
        return await self.connected.list(req.user_id, request_id=meta.request_id)

    async def plan_changed(self, req: PlanChangedRequest, meta: Meta) -> PlanChangedReply:
        """The subject Mavio billing has always used: a plan change is the registry's command, so this
        only hands it on (the registry records it and announces ``plan.changed``, to which
        ``on_plan_changed`` reacts). Kept so billing integrations keep working."""
        if req.plan not in PLANS or not req.user_id:
            raise InvalidRequest(f"plan must be one of: {', '.join(PLANS)}; user_id is required")
        changed = await self.registry.set_plan(
            req.user_id, req.plan, actor=req.actor, request_id=meta.request_id
        )
        if changed.narrowed is None:
            raise TemporarilyUnavailable("the plan was recorded, but grants were not narrowed yet")
        return changed.narrowed

    async def run_command(self, command: Command) -> RevokeAppReply | PlanChangedReply:
        """A command from the registry's queue: narrow every grant of a user to the plan, or revoke
        every code and token of an app (deleted: its grants, indexes and counters go too)."""
        match command:
            case NarrowToPlan():
                return await self.narrower.plan_changed(
                    command.user_id, command.plan, actor=command.actor or ev.BILLING
                )
            case RevokeApp():
                return await self._revoke_app(command.client_id, command.reason, command.actor)

    def routes(self) -> list[Route[Any]]:
        return [
            Route("revoke", subjects.REVOCATION_REVOKE, RevokeTokenRequest, self.revoke),
            Route("app.revoke_all", subjects.REVOCATION_REVOKE_APP, RevokeAppRequest, self.revoke_app),
            Route("grant.revoke", subjects.REVOCATION_REVOKE_GRANT, RevokeGrantRequest, self.revoke_grant),
            Route(
                "user.revoke_access",
                subjects.REVOCATION_REVOKE_USER_ACCESS,
                RevokeUserAccessRequest,
                self.revoke_user_access,
            ),
            Route(
                "connected_apps",
                subjects.REVOCATION_CONNECTED_APPS,
                ConnectedAppsRequest,
                self.connected_apps,
            ),
            Route("plan_changed", subjects.REVOCATION_PLAN_CHANGED, PlanChangedRequest, self.plan_changed),
            Route("leaked", subjects.REVOCATION_LEAKED, ReportLeakedRequest, self.leaked),
        ]


async def build_handlers(ctx: ServiceContext, metrics: RevocationMetrics | None = None) -> Handlers:
    s = ctx.settings
    revoked = None if metrics is None else metrics.revoked
    store = grant_store(ctx.redis, s)
    writer = await ctx.jetstream_writer()
    publish = event_publisher(ctx.nc, writer)
    catalog = ScopeCatalog.load()
    cached = RegistryClient(ctx.bus, cache_ttl=s.app_cache_ttl)
    await cached.watch(ctx.nc)
    await ensure_audit_stream_at_start(writer, replicas=ctx.settings.audit_replicas)
    cascades = Cascades(store, publish, revoked=revoked)
    registry = RegistryClient(ctx.bus)
    signer = Signer(s.hmac_key)
    leaked = None if metrics is None else metrics.leaked
    return Handlers(
        TokenRevoker(registry, store, cascades, signer, publish, revoked=revoked),
        cascades,
        PlanNarrower(store, cascades, catalog, publish),
        ConnectedApps(store, cached, catalog),
        registry,
        publish,
        LeakedTokens(store, cascades, signer, publish, leaked=leaked, revoked=revoked),
    )


async def build_routes(ctx: ServiceContext) -> list[Route[Any]]:
    metrics = RevocationMetrics(ctx.metrics.registry)
    handlers = await build_handlers(ctx, metrics)
    writer = await ctx.jetstream_writer()
    worker = CommandWorker(ctx.nc, writer, handlers.run_command, pending=metrics.commands_pending)
    await worker.start(replicas=ctx.settings.audit_replicas)
    ctx.stack.push_async_callback(worker.close)
    sweeper = build_sweeper(ctx, metrics, writer=writer)
    sweeper.start()
    ctx.stack.push_async_callback(sweeper.close)
    return handlers.routes()
