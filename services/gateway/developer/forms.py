"""The app registration / edit form: parsing a submission into ``AppSettings`` (each field by its
type: text, a checkbox, or a list of lines and checkboxes), the logo upload, and what the form template
needs to show entered values and inline errors. Validation is the registry's."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiohttp import web
from multidict import MultiDictProxy

from services.gateway.keys import CATALOG, LOGO_DECODES
from shared.apps.logo import MAX_LOGO_BYTES, TOO_MANY_BYTES, LogoError, normalise_logo
from shared.apps.settings import CONFIDENTIAL, PUBLIC, SETTINGS_FIELDS, AppSettings
from shared.apps.validation import stripped

FormData = MultiDictProxy[str | bytes | bytearray | web.FileField]
_CHECKED = ("on", "1", "true")


def _kinds() -> dict[str, type[msgspec.inspect.Type]]:
    """Each setting's form kind: its ``msgspec.inspect`` type (str, bool or list), constraints aside."""
    kinds: dict[str, type[msgspec.inspect.Type]] = {}
    info = msgspec.inspect.type_info(AppSettings)
    assert isinstance(info, msgspec.inspect.StructType)
    for f in info.fields:
        kind = f.type.type if isinstance(f.type, msgspec.inspect.Metadata) else f.type
        kinds[f.name] = type(kind)
    return kinds


_KINDS = _kinds()


@dataclass
class AppForm:
    """What the developer typed, kept as typed so a refused form shows it again: per setting, the text
    of a text control, whether a checkbox is ticked, or every value of a list's controls (the lines of
    a textarea, the ticked checkboxes). The template reads them as ``form.<setting>``."""

    shown: dict[str, Any] = field(default_factory=dict)
    client_type: str = CONFIDENTIAL  # chosen at registration only (the edit form shows it, read-only)
    remove_logo: bool = False
    logo_upload: bytes | None = None

    @classmethod
    def of(cls, settings: AppSettings) -> AppForm:
        return cls(shown=msgspec.structs.asdict(settings))

    def __getitem__(self, name: str) -> Any:
        return self.shown[name]

    def settings(self) -> AppSettings:
        values: dict[str, Any] = {
            name: [line for value in self.shown[name] for line in stripped(value.splitlines())]
            if _KINDS[name] is msgspec.inspect.ListType
            else self.shown[name]
            for name in SETTINGS_FIELDS
        }
        return AppSettings(**values)


def text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _shown(form: FormData, name: str) -> Any:
    kind = _KINDS[name]
    if kind is msgspec.inspect.BoolType:
        return text(form.get(name)) in _CHECKED
    if kind is msgspec.inspect.ListType:
        return [value for value in form.getall(name, []) if isinstance(value, str)]
    return text(form.get(name))


def parse_form(form: FormData) -> AppForm:
    upload = form.get("logo")
    logo: bytes | None = None
    if isinstance(upload, web.FileField):
        data = upload.file.read(MAX_LOGO_BYTES + 1)
        logo = data if data else None  # an empty file input means "no new logo"
    return AppForm(
        shown={name: _shown(form, name) for name in SETTINGS_FIELDS},
        client_type=text(form.get("client_type")) or CONFIDENTIAL,
        remove_logo=text(form.get("remove_logo")) in _CHECKED,
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


async def checked_logo(request: web.Request, form: AppForm) -> tuple[bytes | None, str]:
    """The normalised logo of ``form`` (None when none was uploaded), or why it could not be read: the
    registry reports that with every other field's problem, and saves nothing."""
    if form.logo_upload is None:
        return None, ""
    try:
        return await prepare_logo(request, form.logo_upload), ""
    except LogoError as exc:
        return None, str(exc)


CLIENT_TYPE_CHOICES = (
    (CONFIDENTIAL, "Confidential", "a web server that can keep a secret"),
    (PUBLIC, "Public", "a desktop, mobile, command-line or browser app"),
)


def form_context(request: web.Request, form: AppForm, errors: dict[str, str] | None = None) -> dict[str, Any]:
    catalog = request.app[CATALOG]
    return {
        "form": form,
        "client_types": CLIENT_TYPE_CHOICES,
        "errors": errors or {},
        "scopes": [{"name": s.name, "description": s.description, "id": "scope-" + s.name.replace(":", "-")}
                   for s in catalog],
    }  # fmt: skip
