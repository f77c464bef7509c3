"""Bus handlers of the authorize service: decode -> domain -> store -> encode (RFC 6749 §4.1).

``check`` runs for ``GET /oauth/authorize``; ``decide`` for the consent page's POST. Both run the whole
check (RFC 6749 §4.1.2.1 order: client and redirect URI, the checks that need no user, sign-in, the
user's plan). ``check`` reads app views through the registry client's cache (dropped on app events) and
stores each consent page it shows (``pages``); ``decide`` takes that page (once), then runs the checks
again on the stored request, asking the registry itself, so a code is never issued for an app or a
redirect URI that changed while the page was open.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import structlog

from services.authorize import domain, pages, sign_in
from services.authorize.checks import AuthorizationRequest, client_id_from
from services.authorize.device import DeviceAuthorizer
from services.authorize.page_store import PageStore, RedisPageStore
from services.authorize.redirects import Query, with_issuer
from shared import subjects
from shared.errors import ConsentRequired, InvalidScope, NotFound, NothingGranted, UnknownClient
from shared.grants.records import GrantRecord
from shared.grants.storage import CodeStore, ConsentStore, DeviceStore
from shared.grants.store import grant_store
from shared.lifecycle import ServiceContext
from shared.messages.authorize import (
    CheckAuthorizationReply,
    CheckAuthorizationRequest,
    DecideAuthorizationReply,
    DecideAuthorizationRequest,
    DecisionRefused,
    Outcome,
    RedirectTo,
    ShowConsent,
    ShowSignIn,
    SignIn,
)
from shared.messages.device import DecideDeviceRequest, ShowDeviceRequest
from shared.messages.registry import AccountView, AppView
from shared.registry_client import RegistryClient
from shared.scopes import ScopeCatalog
from shared.service import Meta, Route
from shared.tokens import Signer

log = structlog.get_logger("mavio.authorize")

Checked = tuple[AppView, AuthorizationRequest]
CONSENT_NEEDED = "the user has not granted every requested scope to this app"


class AuthorizeStore(CodeStore, ConsentStore, DeviceStore, Protocol):
    """What authorize writes: the user's grant to the app, then the code; and whether a grant is live."""

    async def live_grants(self, pairs: Sequence[tuple[str, GrantRecord]], *, now: float) -> list[bool]:
        """Which grants are active authorizations (``IndexReader``, ``shared.grants.active``)."""
        ...


class Registry(Protocol):
    """What the service asks the registry (``shared.registry_client.RegistryClient``)."""

    async def get_app(self, client_id: str, *, request_id: str | None = None) -> AppView: ...

    async def get_account(self, user_id: str, *, request_id: str | None = None) -> AccountView: ...


class Authorizer:
    """The authorization endpoint's decisions; collaborators are passed in."""

    def __init__(
        self,
        *,
        cached: Registry,
        registry: Registry,
        store: AuthorizeStore,
        page_store: PageStore,
        signer: Signer,
        catalog: ScopeCatalog,
        code_ttl: int,
        consent_ttl: int,
        issuer: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cached = cached
        self.registry = registry
        self.store = store
        self.page_store = page_store
        self.signer = signer
        self.catalog = catalog
        self.code_ttl = code_ttl
        self.consent_ttl = consent_ttl
        self.issuer = issuer
        self.clock = clock

    async def check(self, req: CheckAuthorizationRequest, meta: Meta) -> CheckAuthorizationReply:
        result = await self._evaluate(req.query, req.user_id, meta.request_id, fresh=False)
        if isinstance(result, tuple):  # signed in: does the session satisfy the request (OIDC)?
            again = sign_in.signed_in(
                result[1],
                user_id=req.user_id,
                session=req.sign_in,
                hinted_user=req.hinted_user,
                now=int(self.clock()),
            )
            result = result if again is None else again
        return CheckAuthorizationReply(outcome=self._signed(await self._remembered(req, meta, result)))

    async def _remembered(
        self, req: CheckAuthorizationRequest, meta: Meta, result: Checked | Outcome
    ) -> Outcome:
        """The consent page (asking only for scopes not granted yet), or a code when the user's live
        grant covers every requested scope and ``prompt=consent`` is absent."""
        if not isinstance(result, tuple):
            return result
        app, request = result
        live = frozenset() if domain.prompts_for_consent(req.query) else await self._live(req.user_id, app)
        known = domain.remembered(request, live)
        if len(known) < len(request.scopes):
            if "none" in request.oidc.prompt:  # OpenID Connect Core §3.1.2.6: no page may be shown
                return domain.refused(request, ConsentRequired(CONSENT_NEEDED))
            return await self._show(app, request, req.user_id, req.session, remembered=known)
        # Every scope is remembered: decide without a prompt, against the registry's current view.
        fresh = await self._evaluate(req.query, req.user_id, meta.request_id, fresh=True)
        if not isinstance(fresh, tuple):
            return fresh
        log.info("consent remembered")
        code = await self._issue(fresh[1], req.user_id, fresh[1].scopes, req.sign_in)
        return domain.code_location(fresh[1], code)

    async def decide(self, req: DecideAuthorizationRequest, meta: Meta) -> DecideAuthorizationReply:
        reply = await self._decide(req, meta)
        return DecideAuthorizationReply(outcome=self._signed(reply.outcome))

    def _signed(self, outcome: Outcome) -> Outcome:
        """Every authorization response, success or error, names this server (RFC 9207 §2)."""
        if isinstance(outcome, RedirectTo):
            return RedirectTo(location=with_issuer(outcome.location, self.issuer))
        return outcome

    async def _decide(self, req: DecideAuthorizationRequest, meta: Meta) -> DecideAuthorizationReply:
        signature = self.signer.sign(req.consent)
        page = await self.page_store.take_consent(req.user_id, signature) if req.consent else None
        grant = await self.store.get_grant(req.user_id, page.request.client_id) if page else None
        why = pages.refusal(page, session=req.session, grant=grant, now=int(self.clock()))
        if page is not None and page.device:
            why = "a device consent page posted to the authorization endpoint"
        if page is None or why:
            log.warning("consent decision refused", debug=why)
            return DecideAuthorizationReply(outcome=DecisionRefused(reason=pages.REFUSED))
        query = pages.query_of(page.request)
        result = await self._evaluate(query, req.user_id, meta.request_id, fresh=True)
        if not isinstance(result, tuple):
            return DecideAuthorizationReply(outcome=result)
        return DecideAuthorizationReply(outcome=await self._decided(*result, req))

    async def _decided(
        self, app: AppView, request: AuthorizationRequest, req: DecideAuthorizationRequest
    ) -> Outcome:
        if req.decision == "deny":
            log.info("authorization denied")
            return domain.denied(request)
        try:
            scopes = domain.granted_scopes(request, req.granted, catalog=self.catalog)
        except NothingGranted as exc:
            return await self._show(app, request, req.user_id, req.session, notice=str(exc))
        except InvalidScope as exc:
            return domain.refused(request, exc)
        code = await self._issue(request, req.user_id, scopes, req.sign_in)
        await self.page_store.forget_consents(
            req.user_id, request.client_id
        )  # decided: its other pages are void
        return domain.code_location(request, code)

    async def _show(
        self,
        app: AppView,
        request: AuthorizationRequest,
        user_id: str,
        session: str,
        notice: str = "",
        *,
        remembered: Sequence[str] = (),
    ) -> ShowConsent:
        """Store the page's record (its single decision), then show it."""
        grant = await self.store.get_grant(user_id, request.client_id)
        made = pages.new_consent(
            request,
            session=session,
            grant=grant,
            signer=self.signer,
            now=int(self.clock()),
            ttl=self.consent_ttl,
        )
        await self.page_store.save_consent(user_id, made.signature, made.record, self.consent_ttl)
        return domain.consent(app, request, notice, page=made.consent, remembered=remembered)

    async def _evaluate(
        self, query: Query, user_id: str, request_id: str, *, fresh: bool
    ) -> Checked | Outcome:
        """Every check in order; a tuple when the request may be shown to (or decided by) the user."""
        client_id = client_id_from(query)
        structlog.contextvars.bind_contextvars(client_id=client_id)
        try:
            source = self.registry if fresh else self.cached
            app = await source.get_app(client_id, request_id=request_id)
        except NotFound:
            raise UnknownClient(debug=f"no app {client_id!r}") from None
        checked = domain.precheck(app, query, catalog=self.catalog, redirect_errors=bool(user_id))
        if not isinstance(checked, AuthorizationRequest):
            return checked
        if not user_id:
            return sign_in.signed_out(app, checked)
        try:
            account = await self.registry.get_account(user_id, request_id=request_id)
        except NotFound:
            return ShowSignIn()  # a session that outlived its account
        refusal = domain.check_user_plan(checked, account.plan, catalog=self.catalog)
        return refusal if refusal is not None else (app, checked)

    async def _live(self, user_id: str, app: AppView) -> frozenset[str]:
        """The scopes of the user's live grant to the app (empty when there is none)."""
        grant = await self.store.get_grant(user_id, app.client_id)
        return await self._live_scopes(user_id, grant)

    async def _live_scopes(self, user_id: str, grant: GrantRecord | None) -> frozenset[str]:
        if grant is None:
            return frozenset()
        [live] = await self.store.live_grants([(user_id, grant)], now=self.clock())
        if not live:  # the one definition of an active authorization, as Connected apps shows it
            return frozenset()
        return frozenset(grant.scope.split())

    async def _issue(
        self, request: AuthorizationRequest, user_id: str, scopes: tuple[str, ...], session: SignIn
    ) -> str:
        """Store the code, then record the grant naming its family. The code leaves only after both (a
        usable code always has its grant), and an authorization reading the grant in between (another
        tab) still finds the previous family, which is live: a grant never names a code not yet stored."""
        now = int(self.clock())
        previous = await self.store.get_grant(user_id, request.client_id)
        kept = await self._live_scopes(user_id, previous)
        issued = domain.new_code(
            request,
            user_id=user_id,
            scopes=scopes,
            signer=self.signer,
            now=now,
            ttl=self.code_ttl,
            sign_in=session,
        )
        grant = domain.grant_record(
            request,
            scopes,
            now=now,
            previous=previous,
            kept=kept,
            catalog=self.catalog,
            code_family=issued.record.family,
        )
        await self.store.save_code(issued.signature, issued.record, self.code_ttl)
        await self.store.save_grant(user_id, grant)
        log.info("code issued", family=issued.record.family, scope=issued.record.scope)
        return issued.code


async def build_routes(ctx: ServiceContext) -> list[Route[Any]]:
    cached = RegistryClient(ctx.bus, cache_ttl=ctx.settings.app_cache_ttl)
    await cached.watch(ctx.nc)
    authorizer = Authorizer(
        cached=cached,
        registry=RegistryClient(ctx.bus),
        store=grant_store(ctx.redis, ctx.settings),
        page_store=RedisPageStore(ctx.redis, max_pages=ctx.settings.consent_pages_max),
        signer=Signer(ctx.settings.hmac_key),
        catalog=ScopeCatalog.load(),
        code_ttl=ctx.settings.code_ttl,
        consent_ttl=ctx.settings.consent_ttl,
        issuer=ctx.settings.public_url,
    )
    device = DeviceAuthorizer(
        registry=authorizer.registry,
        store=authorizer.store,
        page_store=authorizer.page_store,
        signer=authorizer.signer,
        catalog=authorizer.catalog,
        consent_ttl=ctx.settings.consent_ttl,
    )
    return [
        Route("check", subjects.AUTHORIZE_CHECK, CheckAuthorizationRequest, authorizer.check),
        Route("decide", subjects.AUTHORIZE_DECIDE, DecideAuthorizationRequest, authorizer.decide),
        Route("device_show", subjects.AUTHORIZE_DEVICE_SHOW, ShowDeviceRequest, device.show),
        Route("device_decide", subjects.AUTHORIZE_DEVICE_DECIDE, DecideDeviceRequest, device.decide),
    ]
