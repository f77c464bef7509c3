"""The app registration / edit form: parsing a submission, the logo upload, and what the form
template needs to show entered values and inline errors."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from services.gateway.keys import CATALOG, LOGO_DECODES, SETTINGS
from shared.apps.logo import MAX_LOGO_BYTES, TOO_MANY_BYTES, LogoError, normalise_logo
from shared.apps.validation import AppInput, parse_redirect_uris_text, validate_app
from shared.errors import ValidationFailed

FormData = MultiDictProxy[str | bytes | bytearray | web.FileField]


class FieldConflict(ValidationFailed):
    """Not an RFC code: the input clashes with existing state (409), with per-field messages."""

    error = "conflict"
    status = 409


@dataclass
class AppForm:
    """What the developer typed, kept as typed so a refused form shows it again."""

    name: str = ""
    description: str = ""
    homepage_url: str = ""
    redirect_uris_text: str = ""
    scopes: list[str] = field(default_factory=list)
    require_pkce: bool = False
    remove_logo: bool = False
    logo_upload: bytes | None = None

    def input(self) -> AppInput:
        return AppInput(
            name=self.name,
            description=self.description,
            homepage_url=self.homepage_url,
            redirect_uris=parse_redirect_uris_text(self.redirect_uris_text),
            scopes=self.scopes,
            require_pkce=self.require_pkce,
        )


def text(value: object) -> str:
    return value if isinstance(value, str) else ""


def parse_form(form: FormData) -> AppForm:
    upload = form.get("logo")
    logo: bytes | None = None
    if isinstance(upload, web.FileField):
        data = upload.file.read(MAX_LOGO_BYTES + 1)
        logo = data if data else None  # an empty file input means "no new logo"
    return AppForm(
        name=text(form.get("name")),
        description=text(form.get("description")),
        homepage_url=text(form.get("homepage_url")),
        redirect_uris_text=text(form.get("redirect_uris")),
        scopes=[s for s in form.getall("scopes", []) if isinstance(s, str)],
        require_pkce=text(form.get("require_pkce")) in ("on", "1", "true"),
        remove_logo=text(form.get("remove_logo")) in ("on", "1", "true"),
        logo_upload=logo,
    )


async def prepare_logo(request: web.Request, data: bytes) -> bytes:
    """The upload as a small PNG, or ``LogoError``.

    The gateway shrinks the image before it crosses the bus: a 1 MiB upload would not fit in a
    NATS message once encoded. The registry checks and normalises it again on its side. At most
    ``LOGO_DECODES`` decodes run at once in this process (each bounded by ``MAX_LOGO_PIXELS``), so
    concurrent uploads cannot add up to more memory than that.
    """
    if len(data) > MAX_LOGO_BYTES:
        raise LogoError(TOO_MANY_BYTES)
    async with request.app[LOGO_DECODES]:
        return await asyncio.to_thread(normalise_logo, data)


async def checked_logo(request: web.Request, form: AppForm) -> bytes | None:
    """The normalised logo of ``form`` (None when none was uploaded).

    A bad logo is reported together with every other field's problem, and nothing is sent.
    """
    if form.logo_upload is None:
        return None
    try:
        return await prepare_logo(request, form.logo_upload)
    except LogoError as exc:
        errors = {"logo": str(exc)}
        settings = request.app[SETTINGS]
        try:
            validate_app(form.input(), catalog=request.app[CATALOG], production=settings.production)
        except ValidationFailed as more:
            errors.update(more.fields)
        raise ValidationFailed(errors) from None


def form_context(request: web.Request, form: AppForm, errors: dict[str, str] | None = None) -> dict[str, Any]:
    catalog = request.app[CATALOG]
    return {
        "form": form,
        "errors": errors or {},
        "scopes": [{"name": s.name, "description": s.description, "id": "scope-" + s.name.replace(":", "-")}
                   for s in catalog],
    }  # fmt: skip
