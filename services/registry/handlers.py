"""Bus handlers of the registry service: decode -> domain -> store -> encode."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import structlog
from nats.aio.client import Client as NATS

from services.registry.leaks import LeakedSecrets
from services.registry.owner import Announce, OwnerOps
from shared import subjects
from shared.accounts.passwords import Passwords
from shared.accounts.service import AccountService
from shared.accounts.store import RedisAccountStore
from shared.apps.secrets import client_authenticated
from shared.apps.store import AppStore, RedisAppStore
from shared.commands import CommandSender, ensure_command_queue
from shared.errors import InvalidClient, NotFound
from shared.events import publish_event
from shared.lifecycle import ServiceContext
from shared.messages.commands import Command, NarrowToPlan
from shared.messages.events import Event, PlanChanged
from shared.messages.leaks import ReportLeakedReply, ReportLeakedRequest
from shared.messages.registry import (
    AccountView,
    AppView,
    AuthenticateRequest,
    GetAccountRequest,
    GetAppRequest,
    OwnerRequest,
    SetPlanReply,
    SetPlanRequest,
    VerifyClientRequest,
)
from shared.messages.revocation import PlanChangedReply
from shared.metrics import credentials_leaked
from shared.scopes import ScopeCatalog
from shared.sealing import Sealer
from shared.service import Meta, Route
from shared.tasks import retry_at_start
from shared.tokens import Signer

log = structlog.get_logger("mavio.registry")
R = TypeVar("R")


class AppLookups:
    """The hot-path reads other services make: an app's view, client authentication."""

    def __init__(self, apps: AppStore, signer: Signer) -> None:
        self.apps = apps
        self.signer = signer

    async def get_app(self, req: GetAppRequest, _: Meta) -> AppView:
        record = await self.apps.get(req.client_id)
        if record is None:
            raise NotFound("unknown client_id")
        structlog.contextvars.bind_contextvars(client_id=record.client_id)
        return record.view()

    async def verify_client(self, req: VerifyClientRequest, _: Meta) -> AppView:
        """RFC 6749 §2.3.1 client authentication; ``InvalidClient`` for any mismatch."""
        record = await self.apps.get(req.client_id)
        if not client_authenticated(record, req.client_secret, self.signer, now=time.time()):
            raise InvalidClient("client authentication failed")
        assert record is not None
        structlog.contextvars.bind_contextvars(client_id=record.client_id)
        return record.view()


class AccountHandlers:
    def __init__(self, accounts: AccountService, announce: Announce) -> None:
        self.accounts = accounts
        self.announce = announce

    async def get(self, req: GetAccountRequest, _: Meta) -> AccountView:
        return await self.accounts.get(req.user_id)

    async def authenticate(self, req: AuthenticateRequest, _: Meta) -> AccountView:
        return await self.accounts.authenticate(req.email, req.password)

    async def set_plan(self, req: SetPlanRequest, _: Meta) -> SetPlanReply:
        """A plan change (billing, the operator CLI) is this service's command: record the plan, so new
        authorizations see it, then announce ``plan.changed``, to which revocation reacts by narrowing
        every grant of the user (idempotent: asking again is safe)."""
        account, previous = await self.accounts.set_plan_by_id(req.user_id, req.plan)
        event = PlanChanged(
            at=time.time(),
            client_id="",
            actor=req.actor,
            user_id=account.id,
            plan=account.plan,
            previous_plan=previous,
        )
        command = NarrowToPlan(user_id=account.id, plan=account.plan, actor=req.actor)
        narrowed = await self.announce(event, command, PlanChangedReply)
        return SetPlanReply(
            account=account, previous_plan=previous, narrowed=narrowed, pending=narrowed is None
        )


def _publisher(ctx: ServiceContext, writer: NATS) -> Callable[[Event], Awaitable[None]]:
    """Live events for caches, and every one to the app's audit trail (creation, edits, secret
    rotations) through the JetStream writer; a failure is logged and never undoes the change stored."""

    async def publish(event: Event) -> None:
        try:
            await publish_event(ctx.nc, event, writer=writer)
        except Exception as exc:  # the change is stored; caches fall back to their short TTL
            log.warning("event not fully published", kind=type(event).__name__, debug=repr(exc))

    return publish


def _announcer(ctx: ServiceContext, writer: NATS) -> Announce:
    """The event for observers, then the command on revocation's durable queue, whose outcome is
    awaited within a longer bus timeout (revoking a large app takes a while); None: pending."""
    publish = _publisher(ctx, writer)
    sender = CommandSender(ctx.nc, writer, timeout=ctx.settings.bus_timeout * 2)

    async def announce(event: Event | None, command: Command, reply_type: type[R]) -> R | None:
        if event is not None:
            await publish(event)
        request_id = str(structlog.contextvars.get_contextvars().get("request_id", ""))
        return await sender.send(command, reply_type, request_id=request_id)

    return announce


async def build_routes(ctx: ServiceContext) -> list[Route[Any]]:
    apps = RedisAppStore(ctx.redis, code_ttl=ctx.settings.code_ttl)
    await apps.index_secrets()  # apps made before the secret index existed (idempotent)
    account_store = RedisAccountStore(ctx.redis)
    signer = Signer(ctx.settings.hmac_key)
    lookups = AppLookups(apps, signer)
    writer = await ctx.jetstream_writer()  # audit trail and command queue, as bus user ``audit``
    replicas = ctx.settings.audit_replicas
    await retry_at_start("command queue", lambda: ensure_command_queue(writer, replicas=replicas))
    announce = _announcer(ctx, writer)
    accounts = AccountHandlers(AccountService(account_store, Passwords()), announce)
    owner = OwnerOps(
        apps=apps,
        accounts=account_store,
        signer=signer,
        sealer=Sealer(ctx.settings.encryption_key),
        catalog=ScopeCatalog.load(),
        production=ctx.settings.production,
        publish=_publisher(ctx, writer),
        announce=announce,
    )

    async def owner_op(req: OwnerRequest, _: Meta) -> Any:
        structlog.contextvars.bind_contextvars(user_id=req.user_id, owner_op=type(req).__name__)
        return await owner.handle(req)

    leaks = LeakedSecrets(
        apps, signer, _publisher(ctx, writer), leaked=credentials_leaked(ctx.metrics.registry)
    )

    async def secret_leaked(req: ReportLeakedRequest, _: Meta) -> ReportLeakedReply:
        return await leaks.report(req)

    owner_type = cast("type[OwnerRequest]", OwnerRequest)
    return [
        Route("app.get", subjects.REGISTRY_GET_APP, GetAppRequest, lookups.get_app, quiet=True),
        Route(
            "client.verify",
            subjects.REGISTRY_VERIFY_CLIENT,
            VerifyClientRequest,
            lookups.verify_client,
            quiet=True,
        ),
        Route("account.get", subjects.REGISTRY_GET_ACCOUNT, GetAccountRequest, accounts.get),
        Route(
            "account.authenticate", subjects.REGISTRY_AUTHENTICATE, AuthenticateRequest, accounts.authenticate
        ),
        Route("account.set_plan", subjects.REGISTRY_SET_PLAN, SetPlanRequest, accounts.set_plan),
        Route("owner", subjects.REGISTRY_OWNER, owner_type, owner_op),
        Route("secret.leaked", subjects.REGISTRY_SECRET_LEAKED, ReportLeakedRequest, secret_leaked),
    ]
