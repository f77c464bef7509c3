"""What other processes use to ask the registry about apps and accounts over the bus.

Callers may cache app views briefly (``cache_ttl``, from MAVIO_APP_CACHE_TTL); a cached view is
dropped at once on an app-changed / app-deleted / secret-regenerated event once ``watch(nc)`` has
subscribed. Client authentication and owner operations are never cached.
"""

from __future__ import annotations

import time
from typing import Any, Generic, Protocol, TypeVar

import msgspec
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from shared import subjects
from shared.bus import Bus
from shared.messages.events import AppChanged, AppDeleted, CredentialLeaked, Event, SecretRegenerated
from shared.messages.registry import (
    AccountView,
    AppView,
    AuthenticateRequest,
    CreateAppReply,
    CreateAppRequest,
    DeleteAppReply,
    DeleteAppRequest,
    GetAccountRequest,
    GetAppRequest,
    GetOwnedAppReply,
    GetOwnedAppRequest,
    ListAppsReply,
    ListAppsRequest,
    PutLogoRequest,
    RegenerateSecretReply,
    RegenerateSecretRequest,
    RegenerateWebhookSecretRequest,
    RemoveLogoRequest,
    RevokeAppTokensReply,
    RevokeAppTokensRequest,
    SetPlanReply,
    SetPlanRequest,
    UpdateAppReply,
    UpdateAppRequest,
    VerifyClientRequest,
    WebhookSecretReply,
)

T = TypeVar("T")
# A command the registry announces waits for the reacting service (up to two bus timeouts): its caller
# waits a little longer than that.
COMMAND_TIMEOUTS = 3

CACHE_MAX_ENTRIES = 10_000
APP_EVENTS = (
    subjects.EVENT_APP_CHANGED,
    subjects.EVENT_APP_DELETED,
    subjects.EVENT_SECRET_REGENERATED,
    subjects.EVENT_CREDENTIAL_LEAKED,  # a leaked client secret was invalidated
)
_events = msgspec.json.Decoder(Event)


class OfApp(Protocol):
    @property
    def client_id(self) -> str: ...


V = TypeVar("V", bound=OfApp)


class AppViewCache(Generic[V]):
    """client_id -> (expiry, view), bounded; ``evict`` also spoils fetches already in flight.

    ``V`` is what is cached about an app: its public ``AppView`` here, its record with the secret
    hashes in the token service's client authentication (``shared.apps.client_auth_cache``)."""

    def __init__(self, ttl: float, *, max_entries: int = CACHE_MAX_ENTRIES) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._views: dict[str, tuple[float, V]] = {}
        self.evictions = 0  # bumped by every eviction; a fetch that saw another value must not store

    def get(self, client_id: str) -> V | None:
        hit = self._views.get(client_id)
        if hit is None:
            return None
        if hit[0] <= time.monotonic():
            self._views.pop(client_id, None)
            return None
        return hit[1]

    def put(self, view: V, *, seen_evictions: int) -> None:
        if self.ttl <= 0 or seen_evictions != self.evictions:
            return
        if len(self._views) >= self.max_entries:
            self._views.pop(next(iter(self._views)))
        self._views[view.client_id] = (time.monotonic() + self.ttl, view)

    def evict(self, client_id: str) -> None:
        self.evictions += 1
        self._views.pop(client_id, None)

    def __len__(self) -> int:
        return len(self._views)

    async def watch(self, nc: NATS) -> list[Subscription]:
        """Subscribe to app events so cached views are dropped the moment an app changes."""

        async def on_event(msg: Msg) -> None:
            try:
                event = _events.decode(msg.data)
            except (msgspec.DecodeError, msgspec.ValidationError):
                return
            match event:
                case AppChanged() | AppDeleted() | SecretRegenerated() | CredentialLeaked():
                    self.evict(event.client_id)

        return [await nc.subscribe(subject, cb=on_event) for subject in APP_EVENTS]


class RegistryClient:
    def __init__(self, bus: Bus, *, cache_ttl: float = 0.0) -> None:
        self.bus = bus
        self.cache: AppViewCache[AppView] = AppViewCache(cache_ttl)

    async def watch(self, nc: NATS) -> list[Subscription]:
        """Subscribe to app events so cached views are dropped the moment an app changes."""
        return await self.cache.watch(nc)

    async def get_app(self, client_id: str, *, request_id: str | None = None) -> AppView:
        """The app's public view; raises ``NotFound`` for an unknown or deleted client_id."""
        cached = self.cache.get(client_id)
        if cached is not None:
            return cached
        seen = self.cache.evictions
        view = await self.bus.request(
            subjects.REGISTRY_GET_APP, GetAppRequest(client_id=client_id), AppView, request_id=request_id
        )
        self.cache.put(view, seen_evictions=seen)
        return view

    async def verify_client(
        self, client_id: str, client_secret: str, *, request_id: str | None = None
    ) -> AppView:
        """Client authentication (RFC 6749 §2.3.1); raises ``InvalidClient`` on any mismatch."""
        return await self.bus.request(
            subjects.REGISTRY_VERIFY_CLIENT,
            VerifyClientRequest(client_id=client_id, client_secret=client_secret),
            AppView,
            request_id=request_id,
        )

    async def get_account(self, user_id: str, *, request_id: str | None = None) -> AccountView:
        """An account's view (plan included); raises ``NotFound``."""
        return await self.bus.request(
            subjects.REGISTRY_GET_ACCOUNT,
            GetAccountRequest(user_id=user_id),
            AccountView,
            request_id=request_id,
        )

    async def authenticate(self, email: str, password: str, *, request_id: str | None = None) -> AccountView:
        """The account for email + password; one generic ``InvalidGrant`` for any mismatch."""
        return await self.bus.request(
            subjects.REGISTRY_AUTHENTICATE,
            AuthenticateRequest(email=email, password=password),
            AccountView,
            request_id=request_id,
        )

    async def set_plan(
        self, user_id: str, plan: str, *, actor: str = "billing", request_id: str | None = None
    ) -> SetPlanReply:
        """Change an account's plan (the registry holds the source of truth and waits for the grants
        to be narrowed: see ``SetPlanReply.narrowed``); raises ``NotFound``."""
        return await self.bus.request(
            subjects.REGISTRY_SET_PLAN,
            SetPlanRequest(user_id=user_id, plan=plan, actor=actor),
            SetPlanReply,
            request_id=request_id,
            timeout=self.bus.timeout * COMMAND_TIMEOUTS,
        )

    # ---- owner operations: each raises NotFound when ``user_id`` does not own the app ----------

    async def _owner(self, req: Any, reply_type: type[T], request_id: str | None) -> T:
        return await self.bus.request(subjects.REGISTRY_OWNER, req, reply_type, request_id=request_id)

    async def create_app(self, req: CreateAppRequest, *, request_id: str | None = None) -> CreateAppReply:
        """``ValidationFailed`` (fields), ``Conflict`` (name taken) or the app and its one-time secret."""
        return await self._owner(req, CreateAppReply, request_id)

    async def list_apps(self, user_id: str, *, request_id: str | None = None) -> list[AppView]:
        reply = await self._owner(ListAppsRequest(user_id=user_id), ListAppsReply, request_id)
        return reply.apps

    async def owned_app(
        self, user_id: str, client_id: str, *, request_id: str | None = None
    ) -> GetOwnedAppReply:
        req = GetOwnedAppRequest(user_id=user_id, client_id=client_id)
        return await self._owner(req, GetOwnedAppReply, request_id)

    async def update_app(self, req: UpdateAppRequest, *, request_id: str | None = None) -> UpdateAppReply:
        """The edited app; ``webhook_secret`` set (once) when the edit set a first webhook URL."""
        return await self._owner(req, UpdateAppReply, request_id)

    async def regenerate_webhook_secret(
        self, user_id: str, client_id: str, *, request_id: str | None = None
    ) -> WebhookSecretReply:
        req = RegenerateWebhookSecretRequest(user_id=user_id, client_id=client_id)
        return await self._owner(req, WebhookSecretReply, request_id)

    async def delete_app(
        self, user_id: str, client_id: str, *, request_id: str | None = None
    ) -> DeleteAppReply:
        """Delete the app; the registry waits for its tokens to be revoked (``tokens_revoked``)."""
        req = DeleteAppRequest(user_id=user_id, client_id=client_id)
        return await self.bus.request(
            subjects.REGISTRY_OWNER,
            req,
            DeleteAppReply,
            request_id=request_id,
            timeout=self.bus.timeout * COMMAND_TIMEOUTS,
        )

    async def regenerate_secret(
        self, user_id: str, client_id: str, *, keep_old_seconds: int = 0, request_id: str | None = None
    ) -> RegenerateSecretReply:
        req = RegenerateSecretRequest(user_id=user_id, client_id=client_id, keep_old_seconds=keep_old_seconds)
        return await self._owner(req, RegenerateSecretReply, request_id)

    async def put_logo(
        self, user_id: str, client_id: str, logo: bytes, *, request_id: str | None = None
    ) -> AppView:
        req = PutLogoRequest(user_id=user_id, client_id=client_id, logo=logo)
        return await self._owner(req, AppView, request_id)

    async def revoke_app_tokens(
        self, user_id: str, client_id: str, *, request_id: str | None = None
    ) -> RevokeAppTokensReply:
        """Revoke every code and token of the app (``pending`` when revocation did not answer in time:
        queued, done when it is back)."""
        return await self.bus.request(
            subjects.REGISTRY_OWNER,
            RevokeAppTokensRequest(user_id=user_id, client_id=client_id),
            RevokeAppTokensReply,
            request_id=request_id,
            timeout=self.bus.timeout * COMMAND_TIMEOUTS,
        )

    async def remove_logo(self, user_id: str, client_id: str, *, request_id: str | None = None) -> AppView:
        return await self._owner(RemoveLogoRequest(user_id=user_id, client_id=client_id), AppView, request_id)
