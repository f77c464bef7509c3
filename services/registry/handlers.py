"""Bus handlers of the registry service: decode -> domain -> store -> encode."""

from __future__ import annotations

import time
from typing import Any, cast

import structlog

from services.registry import domain
from services.registry.account_service import AccountService
from services.registry.account_store import RedisAccountStore
from services.registry.owner import AppEvent, OwnerOps, Publish
from services.registry.passwords import Passwords
from services.registry.store import AppStore, RedisAppStore
from shared import subjects
from shared.errors import InvalidClient, NotFound
from shared.events import publish_event
from shared.lifecycle import ServiceContext
from shared.messages.events import AppChanged
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
from shared.scopes import ScopeCatalog
from shared.service import Meta, Route
from shared.tokens import Signer

log = structlog.get_logger("mavio.registry")


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
        if not domain.secret_matches(record, req.client_secret, self.signer, now=time.time()):
            raise InvalidClient("client authentication failed")
        assert record is not None
        structlog.contextvars.bind_contextvars(client_id=record.client_id)
        return record.view()


class AccountHandlers:
    def __init__(self, accounts: AccountService) -> None:
        self.accounts = accounts

    async def get(self, req: GetAccountRequest, _: Meta) -> AccountView:
        return await self.accounts.get(req.user_id)

    async def authenticate(self, req: AuthenticateRequest, _: Meta) -> AccountView:
        return await self.accounts.authenticate(req.email, req.password)

    async def set_plan(self, req: SetPlanRequest, _: Meta) -> SetPlanReply:
        account, previous = await self.accounts.set_plan_by_id(req.user_id, req.plan)
        return SetPlanReply(account=account, previous_plan=previous)


def _publisher(ctx: ServiceContext) -> Publish:
    """Live events for caches; secret rotations and deletions also go to the audit stream, whose
    failure is logged and never undoes the change already stored."""

    async def publish(event: AppEvent) -> None:
        try:
            await publish_event(ctx.nc, event, audit=not isinstance(event, AppChanged))
        except Exception as exc:  # the change is stored; caches fall back to their short TTL
            log.warning("event not fully published", kind=type(event).__name__, debug=repr(exc))

    return publish


async def build_routes(ctx: ServiceContext) -> list[Route[Any]]:
    apps = RedisAppStore(ctx.redis)
    account_store = RedisAccountStore(ctx.redis)
    signer = Signer(ctx.settings.hmac_key)
    lookups = AppLookups(apps, signer)
    accounts = AccountHandlers(AccountService(account_store, Passwords()))
    owner = OwnerOps(
        apps=apps,
        accounts=account_store,
        signer=signer,
        catalog=ScopeCatalog.load(),
        production=ctx.settings.production,
        publish=_publisher(ctx),
    )

    async def owner_op(req: OwnerRequest, _: Meta) -> Any:
        structlog.contextvars.bind_contextvars(user_id=req.user_id, owner_op=type(req).__name__)
        return await owner.handle(req)

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
    ]
