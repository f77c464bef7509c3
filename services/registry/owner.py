"""Owner operations on apps: every one names the acting user and answers ``NotFound`` for an app
that user does not own. Each change publishes its event (app changed / deleted / secret
regenerated) after it is stored, so callers drop cached app views at once. Deleting an app is this
service's command: it records the deletion, announces ``app.deleted`` to observers and queues the
revocation of every code and token of the app (``shared.commands``), waiting a while for the outcome;
when revocation is away the reply says the revocation is pending (it will be done when it is back)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

import msgspec

from services.registry import client_secrets, domain, webhook_secrets
from shared.accounts.store import AccountStore
from shared.apps.logo import LogoError, normalise_logo
from shared.apps.records import AppRecord
from shared.apps.settings import PUBLIC, AppSettings, settings_of, validate_app
from shared.apps.store import AppStore
from shared.errors import FieldConflict, NotFound, ValidationFailed
from shared.messages.commands import Command, RevokeApp
from shared.messages.events import AppChanged, AppCreated, AppDeleted, Event, SecretRegenerated
from shared.messages.registry import (
    CreateAppReply,
    CreateAppRequest,
    DeleteAppReply,
    DeleteAppRequest,
    GetOwnedAppReply,
    GetOwnedAppRequest,
    ListAppsReply,
    ListAppsRequest,
    OwnerRequest,
    PutLogoRequest,
    RegenerateSecretReply,
    RegenerateSecretRequest,
    RegenerateWebhookSecretRequest,
    RemoveLogoRequest,
    RevokeAppTokensReply,
    RevokeAppTokensRequest,
    UpdateAppReply,
    UpdateAppRequest,
    WebhookSecretReply,
)
from shared.messages.revocation import RevokeAppReply
from shared.scopes import ScopeCatalog
from shared.sealing import Sealer
from shared.tokens import Signer, new_client_id

AppEvent = AppCreated | AppChanged | AppDeleted | SecretRegenerated
Publish = Callable[[AppEvent], Awaitable[None]]
R = TypeVar("R")


class Announce(Protocol):
    async def __call__(self, event: Event | None, command: Command, reply_type: type[R]) -> R | None:
        """Publish ``event`` for observers (audited), queue ``command`` for revocation and wait for its
        outcome; None when it did not come in time (the command is pending, carried out later)."""
        ...


NAME_TAKEN = "You already have an app with this name"
PUBLIC_HAS_NO_SECRET = (
    "A public app has no client secret to regenerate: it authenticates with its client ID alone"
)
NO_WEBHOOK_URL = "Set a webhook URL first: the signing secret is minted with it"
APP_DELETED = "app_deleted"  # revocation reasons (``services.revocation.cascade.APP_REASONS``)
APP_REVOKE_ALL = "app_revoke_all"


class OwnerOps:
    def __init__(
        self,
        *,
        apps: AppStore,
        accounts: AccountStore,
        signer: Signer,
        sealer: Sealer,
        catalog: ScopeCatalog,
        production: bool,
        publish: Publish,
        announce: Announce,
    ) -> None:
        self.apps = apps
        self.accounts = accounts
        self.signer = signer
        self.sealer = sealer
        self.catalog = catalog
        self.production = production
        self.publish = publish
        self.announce = announce

    async def handle(self, req: OwnerRequest) -> Any:
        match req:
            case CreateAppRequest():
                return await self.create(req)
            case ListAppsRequest():
                return ListAppsReply(apps=[r.view() for r in await self.apps.owned_by(req.user_id)])
            case GetOwnedAppRequest():
                return await self.get(req)
            case UpdateAppRequest():
                return await self.update(req)
            case DeleteAppRequest():
                return await self.delete(req)
            case RegenerateSecretRequest():
                return await self.regenerate(req)
            case PutLogoRequest():
                return await self.update(
                    UpdateAppRequest(user_id=req.user_id, client_id=req.client_id, logo=req.logo)
                )
            case RemoveLogoRequest():
                return await self.update(
                    UpdateAppRequest(user_id=req.user_id, client_id=req.client_id, remove_logo=True)
                )
            case RevokeAppTokensRequest():
                return await self.revoke_tokens(req)
            case RegenerateWebhookSecretRequest():
                return await self.regenerate_webhook_secret(req)

    async def _owned(self, user_id: str, client_id: str) -> AppRecord:
        return domain.owned(await self.apps.get(client_id), user_id)

    async def _checked(
        self, raw: AppSettings, logo: bytes | None, logo_problem: str, *, client_type: str
    ) -> tuple[AppSettings, bytes | None]:
        """Validate the fields and the logo together, so every problem is reported at once (with the
        gateway's ``logo_problem`` when it could not read the upload)."""
        errors: dict[str, str] = {"logo": logo_problem} if logo_problem else {}
        data = raw
        try:
            data = validate_app(
                raw, catalog=self.catalog, production=self.production, client_type=client_type
            )
        except ValidationFailed as exc:
            errors.update(exc.fields)
        png = None
        if logo is not None:
            try:
                png = await asyncio.to_thread(normalise_logo, logo)
            except LogoError as exc:
                errors["logo"] = str(exc)
        if errors:
            raise ValidationFailed(errors)
        return data, png

    async def create(self, req: CreateAppRequest) -> CreateAppReply:
        owner = await self.accounts.get(req.user_id)
        if owner is None:
            raise NotFound("no such account")
        data, png = await self._checked(
            settings_of(req), req.logo, req.logo_problem, client_type=req.client_type
        )
        if domain.name_taken(data.name, await self.apps.owned_by(owner.id)):
            raise FieldConflict({"name": NAME_TAKEN})
        # A public app gets no secret (RFC 6749 §2.1): it authenticates with its client_id alone.
        public = req.client_type == PUBLIC
        secret, signature = ("", "") if public else client_secrets.issue_secret(self.signer)
        now = int(time.time())
        while True:
            record = domain.new_record(
                client_id=new_client_id(),
                data=data,
                client_type=req.client_type,
                owner_id=owner.id,
                owner_name=owner.name,
                has_logo=png is not None,
                secret_hash=signature,
                now=now,
            )
            record, webhook_secret, webhook = webhook_secrets.after_edit(None, record, self.sealer)
            if await self.apps.insert(record, png):
                break
        await self._announce(AppCreated(at=time.time(), client_id=record.client_id, actor=owner.id))
        if webhook:
            await self._announce(
                AppChanged(at=time.time(), client_id=record.client_id, actor=owner.id, webhook=webhook)
            )
        return CreateAppReply(app=record.view(), client_secret=secret, webhook_secret=webhook_secret)

    async def get(self, req: GetOwnedAppRequest) -> GetOwnedAppReply:
        record = await self._owned(req.user_id, req.client_id)
        stats = await self.apps.stats(record.client_id, domain.stats_days(domain.utc_today()))
        return GetOwnedAppReply(app=record.view(), stats=stats)

    async def update(self, req: UpdateAppRequest) -> UpdateAppReply:
        record = await self._owned(req.user_id, req.client_id)
        merged = domain.merged_input(record, req)
        data, png = await self._checked(merged, req.logo, req.logo_problem, client_type=record.client_type)
        others = await self.apps.owned_by(req.user_id)
        if domain.name_taken(data.name, others, except_id=record.client_id):
            raise FieldConflict({"name": NAME_TAKEN})
        drop = req.remove_logo and png is None
        has_logo = png is not None or (record.has_logo and not drop)
        new = domain.updated(record, data, has_logo=has_logo, now=int(time.time()))
        new, webhook_secret, webhook = webhook_secrets.after_edit(record, new, self.sealer)
        await self.apps.save(new, logo=png, drop_logo=drop)
        fields = domain.changed_fields(record, new, logo_uploaded=png is not None)
        await self._announce(
            AppChanged(
                at=time.time(), client_id=new.client_id, actor=req.user_id, fields=fields, webhook=webhook
            )
        )
        return UpdateAppReply(**msgspec.structs.asdict(new.view()), webhook_secret=webhook_secret)

    async def delete(self, req: DeleteAppRequest) -> DeleteAppReply:
        record = await self._owned(req.user_id, req.client_id)
        stats = await self.apps.stats(record.client_id, [])
        await self.apps.delete(record)
        deleted = AppDeleted(at=time.time(), client_id=record.client_id, actor=req.user_id)
        command = RevokeApp(client_id=record.client_id, reason=APP_DELETED, actor=req.user_id)
        revoked = await self.announce(deleted, command, RevokeAppReply)
        return DeleteAppReply(
            client_id=record.client_id,
            users_affected=stats.active_authorizations,
            tokens_revoked=revoked is not None,
            families_revoked=revoked.families_revoked if revoked else 0,
            pending=revoked is None,
        )

    async def revoke_tokens(self, req: RevokeAppTokensRequest) -> RevokeAppTokensReply:
        record = await self._owned(req.user_id, req.client_id)
        command = RevokeApp(client_id=record.client_id, reason=APP_REVOKE_ALL, actor=req.user_id)
        revoked = await self.announce(None, command, RevokeAppReply)
        if revoked is None:
            return RevokeAppTokensReply(client_id=record.client_id, pending=True)
        return RevokeAppTokensReply(client_id=record.client_id, families_revoked=revoked.families_revoked)

    async def regenerate(self, req: RegenerateSecretRequest) -> RegenerateSecretReply:
        record = await self._owned(req.user_id, req.client_id)
        if record.client_type == PUBLIC:
            raise ValidationFailed({"client_type": PUBLIC_HAS_NO_SECRET})
        if req.keep_old_seconds not in client_secrets.KEEP_OLD_SECRET_CHOICES:
            raise ValidationFailed({"keep_old_seconds": "Keep the old secret for 0, 1 or 24 hours"})
        secret, signature = client_secrets.issue_secret(self.signer)
        now = int(time.time())
        new = client_secrets.rotated(record, signature, keep_old_seconds=req.keep_old_seconds, now=now)
        await self.apps.save(new)
        event = SecretRegenerated(
            at=time.time(),
            client_id=new.client_id,
            actor=req.user_id,
            keep_old_until=new.previous_secret_until,
        )
        await self._announce(event)
        return RegenerateSecretReply(
            app=new.view(), client_secret=secret, old_secret_valid_until=new.previous_secret_until
        )

    async def regenerate_webhook_secret(self, req: RegenerateWebhookSecretRequest) -> WebhookSecretReply:
        record = await self._owned(req.user_id, req.client_id)
        if not record.webhook_url:
            raise ValidationFailed({"webhook_url": NO_WEBHOOK_URL})
        new, secret = webhook_secrets.with_new_secret(record, self.sealer)
        new = msgspec.structs.replace(new, updated_at=int(time.time()))
        await self.apps.save(new)
        changed = AppChanged(
            at=time.time(), client_id=new.client_id, actor=req.user_id, webhook=webhook_secrets.REGENERATED
        )
        await self._announce(changed)
        return WebhookSecretReply(client_id=new.client_id, webhook_secret=secret)

    async def _announce(self, event: AppEvent) -> None:
        await self.publish(event)
