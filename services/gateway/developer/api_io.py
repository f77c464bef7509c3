"""Request and response shapes of the OAuth apps JSON API, and its request checks: session,
``Content-Type: application/json`` (DELETE: no body, or a JSON one) and same-origin ``Origin`` on
every state-changing request."""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import urlsplit

import msgspec
from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from services.gateway.keys import SETTINGS
from services.gateway.sessions import Session, get_session
from shared.apps.logo import MAX_LOGO_BYTES, TOO_MANY_BYTES
from shared.apps.settings import AppRegistration, AppSettings, optional_fields
from shared.errors import CrossOriginRefused, SignInRequired, UnsupportedMediaType, ValidationFailed
from shared.messages.registry import AppView

B = TypeVar("B", bound=msgspec.Struct)

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/octet-stream"})

AppBody = optional_fields(AppSettings, "AppBody")
AppBody.__doc__ = """The app's settings, each optional (``null`` is the same as left out). Create: missing
fields are empty (and the registry's validation says so); update: missing fields keep their value."""


CreateAppBody = optional_fields(AppRegistration, "CreateAppBody")
CreateAppBody.__doc__ = """A new app: its settings and ``client_type`` (``confidential``, the default, or
``public``), chosen at registration only."""
CLIENT_TYPE_FIXED = "Client type is chosen at registration and cannot be changed: register a new app instead"
FIXED_AT_REGISTRATION = {"client_type": CLIENT_TYPE_FIXED}


class SecretBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    keep_old_secret_seconds: int = 0  # 0, 3600 or 86400


async def require_api_session(request: web.Request) -> Session:
    session = await get_session(request)
    if session is None:
        raise SignInRequired("sign in first: this API uses the Mavio session cookie")
    return session


def check_origin(request: web.Request) -> None:
    """When the browser names the page's origin, it must be this site's public origin."""
    origin = request.headers.get("Origin")
    if origin is None:
        return
    public = urlsplit(request.app[SETTINGS].public_url)
    if origin.rstrip("/").lower() != f"{public.scheme}://{public.netloc}".lower():
        raise CrossOriginRefused("cross-origin requests are not allowed")


def require_json(request: web.Request) -> None:
    check_origin(request)
    if request.content_type != "application/json":
        raise UnsupportedMediaType("send Content-Type: application/json")


def require_json_if_body(request: web.Request) -> None:
    """A request that needs no body (DELETE): none at all is fine, one that is sent must be JSON.

    The ``Origin`` check stays; a cross-site form cannot send DELETE in the first place."""
    check_origin(request)
    if request.body_exists and request.content_type != "application/json":
        raise UnsupportedMediaType("send no body, or Content-Type: application/json")


async def decode_body(
    request: web.Request,
    body_type: type[B],
    *,
    allow_empty: bool = False,
    fixed: dict[str, str] | None = None,
    null_clears: frozenset[str] = frozenset(),
) -> B:
    """The JSON object body as ``body_type``, each member converted to its field's type; when one does
    not fit (or is not a field), ``ValidationFailed`` naming every such member. A member named in
    ``fixed`` (a field that cannot be changed here) is refused with its message. A ``null`` member named
    in ``null_clears`` becomes "" (removes the value); any other ``null`` is the same as left out."""
    require_json(request)
    raw = await request.read()
    if not raw.strip() and allow_empty:
        return body_type()
    try:
        members = msgspec.json.decode(raw, type=dict[str, Any])
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise ValidationFailed({"body": "The request body must be a JSON object"}) from None
    except UnicodeDecodeError:  # a string that is not UTF-8 (RFC 8259 §8.1)
        raise ValidationFailed({"body": "The request body must be UTF-8 JSON"}) from None
    types = {f.name: f.type for f in msgspec.structs.fields(body_type)}
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, value in members.items():
        if fixed and name in fixed:
            errors[name] = fixed[name]
            continue
        if name not in types:
            errors[name] = f"Object contains unknown field {name}"
            continue
        if value is None and name in null_clears:
            value = ""
        try:
            values[name] = msgspec.convert(value, type=types[name])
        except msgspec.ValidationError as exc:
            errors[name] = str(exc).replace("`", "").replace("$", name)
    if errors:
        raise ValidationFailed(errors)
    return body_type(**values)


async def logo_upload(request: web.Request) -> bytes:
    """The logo bytes of a raw image body or of a multipart upload (field ``logo`` or first file)."""
    check_origin(request)
    if request.content_type == "multipart/form-data":
        try:
            reader = await request.multipart()
            async for part in reader:
                if isinstance(part, BodyPartReader) and (part.name == "logo" or part.filename):
                    return await _read_limited(part)
        except (ValueError, HttpProcessingError):  # a malformed multipart body (headers, boundary)
            raise ValidationFailed({"logo": "The multipart body is malformed"}) from None
        raise ValidationFailed({"logo": "Attach the logo as the file field 'logo'"})
    if request.content_type not in IMAGE_TYPES:
        raise UnsupportedMediaType(
            "send the logo as image/png, image/jpeg, image/gif, image/webp or multipart"
        )
    return await request.read()


async def _read_limited(part: BodyPartReader) -> bytes:
    data = bytearray()
    while chunk := await part.read_chunk():
        data.extend(chunk)
        if len(data) > MAX_LOGO_BYTES:
            raise ValidationFailed({"logo": TOO_MANY_BYTES})
    return bytes(data)


def app_json(view: AppView) -> dict[str, Any]:
    """The API's app object: the public view without owner details, plus the logo's URL."""
    data = msgspec.to_builtins(view)
    data.pop("owner_id", None)
    data.pop("owner_name", None)
    data["logo_url"] = f"/oauth/apps/{view.client_id}/logo.png" if view.has_logo else None
    return dict(data)
