"""An app's settings, defined once: every field a developer may edit, with its constraints and its
validation (RFC 6749 §3.1.2, §3.3; RFC 8252 §7.3, §8.3; RFC 7636 for ``require_pkce``; OpenID Connect
RP-Initiated Logout 1.0 §3 for ``post_logout_redirect_uris``).

The stored record (``shared.apps.records.AppRecord``), the bus's ``AppView`` and ``CreateAppRequest``
extend ``AppSettings``; an edit (``UpdateAppRequest``) extends ``AppSettingsPatch`` (every field
optional); the gateway's form, JSON API and OpenAPI document are built from its fields. Adding a field
is this module (the field in both Structs, its rule in ``validate_app``), its form control and the code
that uses it.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from shared.apps import validation
from shared.errors import ValidationFailed
from shared.scopes import ScopeCatalog


def _most(count: int, unit: str) -> msgspec.Meta:
    """A limit the OpenAPI document states; ``validate_app`` enforces it, with a message per field."""
    return msgspec.Meta(extra_json_schema={f"max{unit}": count})


class AppSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What a developer registers and edits. A missing field is empty (and ``validate_app`` says so)."""

    name: Annotated[str, _most(validation.MAX_NAME_LENGTH, "Length")] = ""
    description: Annotated[str, _most(validation.MAX_DESCRIPTION_LENGTH, "Length")] = ""
    homepage_url: str = ""
    redirect_uris: Annotated[list[str], _most(validation.MAX_REDIRECT_URIS, "Items")] = []
    scopes: list[str] = []  # approved at registration, catalog order
    require_pkce: bool = False  # authorization requests must carry an S256 code_challenge (RFC 7636)
    # OpenID Connect RP-Initiated Logout 1.0 §3: where /oauth/logout may send the browser afterwards
    post_logout_redirect_uris: Annotated[list[str], _most(validation.MAX_REDIRECT_URIS, "Items")] = []
    # OpenID Connect Dynamic Client Registration 1.0 §2: the ID token's JWS algorithm, RS256 or ES256
    id_token_signed_response_alg: Annotated[
        str, msgspec.Meta(extra_json_schema={"enum": list(validation.ID_TOKEN_ALGS)})
    ] = "RS256"
    device_flow: bool = False  # the device authorization grant (RFC 8628) is enabled for this app
    webhook_url: str = ""  # where signed webhook events are sent ("" = none; Standard Webhooks)


SETTINGS_FIELDS: tuple[str, ...] = AppSettings.__struct_fields__

CONFIDENTIAL = "confidential"  # a web server that can keep a secret (RFC 6749 §2.1)
PUBLIC = "public"  # a desktop, mobile, command-line or browser app: no secret (RFC 6749 §2.1, RFC 8252)
CLIENT_TYPES: tuple[str, ...] = (CONFIDENTIAL, PUBLIC)


class AppRegistration(AppSettings, frozen=True, kw_only=True):
    """The settings plus what is chosen at registration only (RFC 6749 §2.1): never in a patch, so an
    edit cannot change it. The record, ``AppView`` and ``CreateAppRequest`` extend it."""

    client_type: str = CONFIDENTIAL  # "confidential" | "public"; older records are confidential


def optional_fields(struct: type[msgspec.Struct], name: str) -> Any:
    """A Struct named ``name`` with every field of ``struct``, each optional (``None``: not given) and
    unknown fields refused."""
    fields = [(f.name, f.type | None, None) for f in msgspec.structs.fields(struct)]
    return msgspec.defstruct(name, fields, frozen=True, kw_only=True, forbid_unknown_fields=True)


class AppSettingsPatch(msgspec.Struct, frozen=True, kw_only=True):
    """Some of an app's settings: a field left ``None`` keeps its value. Written out (not generated like
    the API's ``AppBody``) so the type checker knows its fields; ``tests/unit/test_app_settings.py``
    holds that it has every field of ``AppSettings``, and the bus's ``UpdateAppRequest`` extends it."""

    name: str | None = None
    description: str | None = None
    homepage_url: str | None = None
    redirect_uris: list[str] | None = None
    scopes: list[str] | None = None
    require_pkce: bool | None = None
    post_logout_redirect_uris: list[str] | None = None
    id_token_signed_response_alg: str | None = None
    device_flow: bool | None = None
    webhook_url: str | None = None  # "" removes it (the JSON API's ``null`` arrives as "")


def settings_of(struct: msgspec.Struct) -> AppSettings:
    """The settings part of a record, view or request that extends ``AppSettings``."""
    return AppSettings(**{name: getattr(struct, name) for name in SETTINGS_FIELDS})


def given(patch: msgspec.Struct) -> dict[str, Any]:
    """The fields ``patch`` sets (its non-None settings fields)."""
    values = {name: getattr(patch, name, None) for name in SETTINGS_FIELDS}
    return {name: value for name, value in values.items() if value is not None}


def patched(settings: AppSettings, patch: msgspec.Struct) -> AppSettings:
    """``settings`` with the fields ``patch`` sets replaced."""
    return msgspec.structs.replace(settings, **given(patch))


def validate_app(
    raw: AppSettings, *, catalog: ScopeCatalog, production: bool, client_type: str = CONFIDENTIAL
) -> AppSettings:
    """Return ``raw`` normalised, or raise ``ValidationFailed`` naming every failing field.

    Normalisation: strings are stripped; blank redirect URIs and scopes are dropped; redirect
    URIs are deduplicated keeping first-seen order; scopes are deduplicated and put in catalog
    order; an unset ID token algorithm is RS256. Redirect URIs are numbered in messages by their
    position among the non-blank entries. ``client_type`` (the one chosen at registration) decides
    which redirect URIs are allowed.
    """
    name = raw.name.strip()
    description = raw.description.strip()
    homepage_url = raw.homepage_url.strip()
    webhook_url = raw.webhook_url.strip()
    entries = validation.stripped(raw.redirect_uris)
    logout_entries = validation.stripped(raw.post_logout_redirect_uris)
    scopes = validation.dedup(validation.stripped(raw.scopes))
    alg = raw.id_token_signed_response_alg.strip() or validation.ID_TOKEN_ALGS[0]  # unset: RS256
    problems = {
        "name": validation.name_error(name),
        "description": validation.description_error(description),
        "homepage_url": validation.homepage_error(homepage_url),
        "client_type": validation.client_type_error(client_type, CLIENT_TYPES),
        "redirect_uris": validation.redirect_uris_error(
            entries, production=production, public=client_type == PUBLIC
        ),
        "scopes": validation.scopes_error(scopes, catalog),
        "post_logout_redirect_uris": validation.post_logout_redirect_uris_error(
            logout_entries, production=production, public=client_type == PUBLIC
        ),
        "id_token_signed_response_alg": validation.id_token_alg_error(alg),  # OIDC Registration §2
        "webhook_url": validation.webhook_url_error(webhook_url, production=production),
    }
    errors = {field: message for field, message in problems.items() if message is not None}
    if errors:
        raise ValidationFailed(errors)
    return msgspec.structs.replace(
        raw,
        name=name,
        description=description,
        homepage_url=homepage_url,
        webhook_url=webhook_url,
        redirect_uris=validation.dedup(entries),
        scopes=catalog.ordered(scopes),
        post_logout_redirect_uris=validation.dedup(logout_entries),
        id_token_signed_response_alg=alg,
    )
