"""Messages of the registry service (apps and accounts).

Owner operations share one subject (``subjects.REGISTRY_OWNER``): ``OwnerRequest`` is a tagged
union (tag field ``op``) that the registry dispatches with ``match``. Every owner request names the
acting user; an app that user does not own answers ``NotFound`` exactly like a missing one.
"""

from __future__ import annotations

import msgspec

from shared.apps.settings import AppRegistration, AppSettingsPatch
from shared.messages.revocation import PlanChangedReply


class AppView(AppRegistration, frozen=True, kw_only=True):
    """An app's public view (its settings and who owns it): what authorize, token and the gateway may
    know. No secret material."""

    client_id: str
    owner_id: str
    owner_name: str = ""
    has_logo: bool = False
    created_at: int = 0
    updated_at: int = 0
    leaked_url: str = ""  # the client secret was reported found here and revoked ("" = not)
    leaked_at: int = 0  # epoch seconds; 0 once a new secret is made


class AccountView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    email: str
    display_name: str
    plan: str  # free | pro | business


class GetAppRequest(msgspec.Struct, frozen=True, kw_only=True):
    client_id: str


class VerifyClientRequest(msgspec.Struct, frozen=True, kw_only=True):
    client_id: str
    client_secret: str


class GetAccountRequest(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str


class SetPlanRequest(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    plan: str
    actor: str = "billing"  # who asks, for the audit trail: ``billing`` or ``operator`` (the CLI)


class SetPlanReply(msgspec.Struct, frozen=True, kw_only=True):
    """The plan is recorded; ``narrowed`` is the revocation service's answer to ``plan.changed`` (the
    user's grants narrowed to the plan), None when it did not answer in time (asking again is safe)."""

    account: AccountView
    previous_plan: str
    narrowed: PlanChangedReply | None = None
    pending: bool = False  # revocation was away: the narrowing is queued and will be done when it is back


class AuthenticateRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Email + password -> ``AccountView``; any mismatch is one generic ``InvalidGrant``."""

    email: str
    password: str


# ---- owner operations (subject REGISTRY_OWNER) ------------------------------------------------


class _OwnerOp(msgspec.Struct, frozen=True, kw_only=True, tag_field="op"):
    user_id: str  # the acting (signed-in) user


class CreateAppRequest(AppRegistration, tag_field="op", tag="create", frozen=True, kw_only=True):
    """The new app's settings and client type (flat, beside ``op``) and its logo. An owner operation
    like the others; its base is ``AppRegistration``, so it names the acting user itself."""

    user_id: str  # the acting (signed-in) user
    logo: bytes | None = None  # already an image upload; the registry re-normalises it
    logo_problem: str = ""  # the gateway could not read the upload: reported with the fields' problems


class ListAppsRequest(_OwnerOp, tag="list", frozen=True, kw_only=True):
    pass


class GetOwnedAppRequest(_OwnerOp, tag="get", frozen=True, kw_only=True):
    client_id: str


class UpdateAppRequest(AppSettingsPatch, tag_field="op", tag="update", frozen=True, kw_only=True):
    """The settings to change, flat beside ``op`` as every owner operation's fields are (the v1 wire
    shape): a setting left ``None`` keeps its value; the merged app is validated as a whole. Its base is
    ``AppSettingsPatch``, so it names the acting user itself."""

    user_id: str  # the acting (signed-in) user
    client_id: str
    logo: bytes | None = None
    remove_logo: bool = False
    logo_problem: str = ""  # the gateway could not read the upload: reported with the fields' problems


class DeleteAppRequest(_OwnerOp, tag="delete", frozen=True, kw_only=True):
    client_id: str


class RevokeAppTokensRequest(_OwnerOp, tag="revoke_tokens", frozen=True, kw_only=True):
    """Revoke every code and token of an app the user owns (through revocation's command queue)."""

    client_id: str


class RevokeAppTokensReply(msgspec.Struct, frozen=True, kw_only=True):
    client_id: str
    families_revoked: int = 0
    pending: bool = False  # revocation was away: queued, done when it is back


class RegenerateSecretRequest(_OwnerOp, tag="regenerate", frozen=True, kw_only=True):
    client_id: str
    keep_old_seconds: int = 0  # 0 (old secret invalid at once), 3600 or 86400


class RegenerateWebhookSecretRequest(_OwnerOp, tag="webhook.secret", frozen=True, kw_only=True):
    """A new webhook signing secret for an app with a webhook URL (the old one stops at once)."""

    client_id: str


class PutLogoRequest(_OwnerOp, tag="logo.put", frozen=True, kw_only=True):
    client_id: str
    logo: bytes


class RemoveLogoRequest(_OwnerOp, tag="logo.remove", frozen=True, kw_only=True):
    client_id: str


OwnerRequest = (
    CreateAppRequest
    | ListAppsRequest
    | GetOwnedAppRequest
    | UpdateAppRequest
    | DeleteAppRequest
    | RegenerateSecretRequest
    | PutLogoRequest
    | RemoveLogoRequest
    | RevokeAppTokensRequest
    | RegenerateWebhookSecretRequest
)


class DayCount(msgspec.Struct, frozen=True, kw_only=True):
    day: str  # YYYY-MM-DD (UTC)
    calls: int


class AppStats(msgspec.Struct, frozen=True, kw_only=True):
    active_authorizations: int  # users with a live grant
    api_calls_total: int
    api_calls_by_day: list[DayCount]  # the last 30 days, oldest first, today last


class CreateAppReply(msgspec.Struct, frozen=True, kw_only=True):
    """The only reply (with ``RegenerateSecretReply``) that carries a client secret; ``""`` for a
    public app, which has none."""

    app: AppView
    client_secret: str
    webhook_secret: str = ""  # minted when the app is created with a webhook URL: shown once


class UpdateAppReply(AppView, frozen=True, kw_only=True):
    """The edited app's view (a plain ``AppView`` to older readers) and, when this edit set a webhook
    URL where there was none, the webhook signing secret minted for it: shown once."""

    webhook_secret: str = ""

    def view(self) -> AppView:
        return AppView(**{name: getattr(self, name) for name in AppView.__struct_fields__})


class WebhookSecretReply(msgspec.Struct, frozen=True, kw_only=True):
    client_id: str
    webhook_secret: str  # shown once


class ListAppsReply(msgspec.Struct, frozen=True, kw_only=True):
    apps: list[AppView]


class GetOwnedAppReply(msgspec.Struct, frozen=True, kw_only=True):
    app: AppView
    stats: AppStats


class DeleteAppReply(msgspec.Struct, frozen=True, kw_only=True):
    """The app is deleted; ``tokens_revoked`` says whether the revocation service answered its
    ``app.deleted`` event (every code and token of the app gone) within the bus timeout."""

    client_id: str
    users_affected: int  # active authorizations at the time of deletion
    tokens_revoked: bool = True
    families_revoked: int = 0
    pending: bool = False  # revocation was away: the revocation is queued and will be done when it is back


class RegenerateSecretReply(msgspec.Struct, frozen=True, kw_only=True):
    app: AppView
    client_secret: str
    old_secret_valid_until: int = 0  # epoch seconds; 0 = the old secret is invalid already
