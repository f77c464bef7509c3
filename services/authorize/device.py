"""The user's side of the device authorization grant (RFC 8628 §3.3, §5.4): ``/device``.

``show``: a signed-in user typed a user code (any case, with or without the dash or spaces); when it
names a pending device authorization of an app that still has the flow enabled, and the user's plan
covers its scopes, a device consent page is stored (one decision, this session only: ``pages``) and
shown. It is always shown, whatever the user granted the app before: remembered consent never skips it
(a phished user code must meet a warning). A code that names nothing decidable gets one answer, whether
it never existed, expired or was decided. ``decide``: the page is taken once, the app and the plan are
checked again, and the device authorization is approved (the grant recorded first, as for a code) or
denied, once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import structlog

from services.authorize import domain, pages
from services.authorize.checks import AuthorizationRequest
from services.authorize.page_store import PageStore
from shared import user_codes
from shared.errors import NotFound
from shared.grants.records import CodeRecord
from shared.grants.storage import ConsentStore, DeviceStore, FoundDevice
from shared.messages.device import (
    DecideDeviceReply,
    DecideDeviceRequest,
    DeviceCodeRefused,
    DeviceConsent,
    ShowDeviceReply,
    ShowDeviceRequest,
)
from shared.messages.registry import AccountView, AppView
from shared.scopes import ScopeCatalog
from shared.service import Meta
from shared.tokens import Signer

log = structlog.get_logger("mavio.authorize.device")

WRONG_CODE = "That code is not valid. Check the code shown on your device and try again."
NOT_ON_PLAN = "The app asks for access that your account's plan does not include."
PAGE_REFUSED = (
    "This page was already used, has expired, or was opened in another session. Nothing was decided."
)


class Registry(Protocol):
    """What the device pages ask the registry (``shared.registry_client.RegistryClient``)."""

    async def get_app(self, client_id: str, *, request_id: str | None = None) -> AppView: ...

    async def get_account(self, user_id: str, *, request_id: str | None = None) -> AccountView: ...


class DeviceAuthorizeStore(DeviceStore, ConsentStore, Protocol):
    """What the device pages use: device authorizations and the user's grants."""


class DeviceAuthorizer:
    def __init__(
        self,
        *,
        registry: Registry,
        store: DeviceAuthorizeStore,
        page_store: PageStore,
        signer: Signer,
        catalog: ScopeCatalog,
        consent_ttl: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.registry = registry
        self.store = store
        self.page_store = page_store
        self.signer = signer
        self.catalog = catalog
        self.consent_ttl = consent_ttl
        self.clock = clock

    async def show(self, req: ShowDeviceRequest, meta: Meta) -> ShowDeviceReply:
        code = user_codes.normalise(req.user_code)
        user_sig = self.signer.sign(code) if code else ""
        found = await self.store.find_device(user_sig, now=int(self.clock())) if code else None
        checked = await self._checked(found, req.user_id, meta) if found else WRONG_CODE
        if isinstance(checked, str):
            log.info("device code refused", debug=checked)
            return ShowDeviceReply(outcome=DeviceCodeRefused(reason=_public(checked)))
        assert found is not None and code is not None
        request = _request(found)
        made = pages.new_consent(
            request,
            session=req.session,
            grant=await self.store.get_grant(req.user_id, request.client_id),
            signer=self.signer,
            now=int(self.clock()),
            ttl=min(self.consent_ttl, max(1, found.record.expires_at - int(self.clock()))),
            device=user_sig,
        )
        await self.page_store.save_consent(req.user_id, made.signature, made.record, self.consent_ttl)
        consent = DeviceConsent(
            app=checked,
            scopes=list(request.scopes),
            user_code=user_codes.shown(code),
            requested_at=found.record.requested_at,
            address=found.record.address,
            consent=made.consent,
        )
        return ShowDeviceReply(outcome=consent)

    async def decide(self, req: DecideDeviceRequest, meta: Meta) -> DecideDeviceReply:
        now = int(self.clock())
        page = await self.page_store.take_consent(req.user_id, self.signer.sign(req.consent))
        client_id = page.request.client_id if page else ""
        grant = await self.store.get_grant(req.user_id, client_id) if page else None
        why = pages.refusal(page, session=req.session, grant=grant, now=now)
        found = await self.store.find_device(page.device, now=now) if page and page.device else None
        checked = await self._checked(found, req.user_id, meta) if found and not why else why
        if isinstance(checked, str) or found is None:
            log.warning("device decision refused", debug=checked or "not a pending device page")
            reason = checked if checked == NOT_ON_PLAN else PAGE_REFUSED
            return DecideDeviceReply(decided=False, decision=req.decision, reason=reason)
        assert page is not None
        approval = await self._approve(found, req, now) if req.decision == "authorize" else None
        outcome = await self.store.decide_device(found, page.device, approval, now=now)
        if outcome != "ok":
            log.warning("device decision refused", debug=outcome)
            return DecideDeviceReply(decided=False, decision=req.decision, reason=PAGE_REFUSED)
        log.info("device authorization decided", decision=req.decision, family=found.record.family)
        return DecideDeviceReply(decided=True, decision=req.decision, app_name=checked.name)

    async def _checked(self, found: FoundDevice, user_id: str, meta: Meta) -> AppView | str:
        """The app, asked of the registry itself, when it may still be authorized by this user; else
        why not (logged; the user sees only ``_public``)."""
        structlog.contextvars.bind_contextvars(client_id=found.record.client_id)
        try:
            app = await self.registry.get_app(found.record.client_id, request_id=meta.request_id)
            account = await self.registry.get_account(user_id, request_id=meta.request_id)
        except NotFound:
            return "app or account gone"
        if not app.device_flow:
            return "device flow disabled since"
        allowed = self.catalog.allowed_for_plan(account.plan)
        if not set(found.record.scope.split()) <= allowed:
            return NOT_ON_PLAN
        return app

    async def _approve(self, found: FoundDevice, req: DecideDeviceRequest, now: int) -> CodeRecord:
        """Record the grant (as a code's authorization does), then the approval's code record."""
        request, user_id = _request(found), req.user_id
        previous = await self.store.get_grant(user_id, request.client_id)
        kept = frozenset(previous.scope.split()) if previous else frozenset()
        grant = domain.grant_record(
            request,
            request.scopes,
            now=now,
            previous=previous,
            kept=kept,
            catalog=self.catalog,
            code_family=found.record.family,
        )
        await self.store.save_grant(user_id, grant)
        return CodeRecord(
            family=found.record.family,
            client_id=request.client_id,
            user_id=user_id,
            redirect_uri="",
            scope=found.record.scope,
            issued_at=now,
            expires_at=found.record.expires_at,
            redirect_uri_given=False,
            auth_time=req.auth_time,
            sid=req.sid,
        )


def _request(found: FoundDevice) -> AuthorizationRequest:
    """The device authorization as the request a consent page and a grant record are made from."""
    return AuthorizationRequest(
        client_id=found.record.client_id,
        redirect_uri="",
        scopes=tuple(found.record.scope.split()),
        state=None,
        code_challenge=None,
        code_challenge_method=None,
        redirect_uri_given=False,
    )


def _public(why: str) -> str:
    """What the user is told: the plan's refusal as it is, anything else as a wrong code."""
    return why if why in (NOT_ON_PLAN, PAGE_REFUSED) else WRONG_CODE
