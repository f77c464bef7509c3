"""Gateway routes: the JSON API for the signed-in user's OAuth apps (``/api/v1/oauth-apps``).

Session-cookie auth. A state-changing request must be ``Content-Type: application/json`` (the
logo upload: an image or multipart; a DELETE may have no body at all) and, when it sends ``Origin``,
come from MAVIO_PUBLIC_URL's origin; a cross-site form can do neither. Errors: ``{"error",
"error_description", "fields"}`` with 400 (validation), 404 (unknown or not yours), 409 (name already used),
rendered by the gateway's one error middleware; the field messages are the registry's.
"""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

from services.gateway.developer.api_io import (
    FIXED_AT_REGISTRATION,
    AppBody,
    CreateAppBody,
    SecretBody,
    app_json,
    decode_body,
    logo_upload,
    require_api_session,
    require_json,
    require_json_if_body,
)
from services.gateway.developer.common import revoke_app_tokens
from services.gateway.developer.forms import prepare_logo
from services.gateway.rendering import json_response
from services.gateway.web_helpers import registry, request_id
from shared.apps.logo import LogoError
from shared.apps.settings import given
from shared.errors import ValidationFailed
from shared.messages.registry import CreateAppRequest, UpdateAppRequest

routes = web.RouteTableDef()

BASE = "/api/v1/oauth-apps"
NO_STORE = {"Cache-Control": "no-store"}
CLEARABLE = frozenset({"webhook_url"})  # ``null`` removes these (the others: ``null`` = left out)


def _client_id(request: web.Request) -> str:
    return request.match_info["client_id"]


@routes.get(BASE)
async def list_apps(request: web.Request) -> web.Response:
    session = await require_api_session(request)
    apps = await registry(request).list_apps(session.user_id, request_id=request_id(request))
    return json_response({"apps": [app_json(a) for a in apps]}, headers=NO_STORE)


@routes.post(BASE)
async def create_app(request: web.Request) -> web.Response:
    session = await require_api_session(request)
    body = await decode_body(request, CreateAppBody, null_clears=CLEARABLE)
    client_type = {"client_type": body.client_type} if body.client_type is not None else {}
    req = CreateAppRequest(**given(body), **client_type, user_id=session.user_id)
    reply = await registry(request).create_app(req, request_id=request_id(request))
    data = {**app_json(reply.app), "client_secret": reply.client_secret or None}  # None: a public app
    return json_response(_with_webhook_secret(data, reply.webhook_secret), status=201, headers=NO_STORE)


def _with_webhook_secret(data: dict[str, Any], secret: str) -> dict[str, Any]:
    """The reply of the call that minted a webhook signing secret carries it, that once."""
    return {**data, "webhook_secret": secret} if secret else data


@routes.get(BASE + "/{client_id}")
async def get_app(request: web.Request) -> web.Response:
    session = await require_api_session(request)
    reply = await registry(request).owned_app(
        session.user_id, _client_id(request), request_id=request_id(request)
    )
    data = {**app_json(reply.app), "stats": msgspec.to_builtins(reply.stats)}
    return json_response(data, headers=NO_STORE)


@routes.patch(BASE + "/{client_id}")
async def update_app(request: web.Request) -> web.Response:
    session = await require_api_session(request)
    body = await decode_body(request, AppBody, fixed=FIXED_AT_REGISTRATION, null_clears=CLEARABLE)
    req = UpdateAppRequest(user_id=session.user_id, client_id=_client_id(request), **given(body))
    reply = await registry(request).update_app(req, request_id=request_id(request))
    return json_response(_with_webhook_secret(app_json(reply.view()), reply.webhook_secret), headers=NO_STORE)


@routes.delete(BASE + "/{client_id}")
async def delete_app(request: web.Request) -> web.Response:
    """Deletes the app (the registry has its tokens revoked); 202 (with ``deleted: true``) when the
    revocation is pending: queued, done when the revocation service is back."""
    session = await require_api_session(request)
    require_json_if_body(request)
    reply = await registry(request).delete_app(
        session.user_id, _client_id(request), request_id=request_id(request)
    )
    result: dict[str, Any] = {
        "deleted": True,
        "client_id": reply.client_id,
        "users_affected": reply.users_affected,
    }
    if reply.pending:  # queued: carried out when the revocation service is back
        return json_response({**result, "revocation": "pending"}, status=202, headers=NO_STORE)
    result["families_revoked"] = reply.families_revoked
    return json_response(result, headers=NO_STORE)


@routes.post(BASE + "/{client_id}/secret")
async def regenerate_secret(request: web.Request) -> web.Response:
    session = await require_api_session(request)
    body = await decode_body(request, SecretBody, allow_empty=True)
    reply = await registry(request).regenerate_secret(
        session.user_id,
        _client_id(request),
        keep_old_seconds=body.keep_old_secret_seconds,
        request_id=request_id(request),
    )
    data = {
        "client_id": reply.app.client_id,
        "client_secret": reply.client_secret,
        "old_secret_valid_until": reply.old_secret_valid_until,
    }
    return json_response(data, headers=NO_STORE)


@routes.post(BASE + "/{client_id}/webhook/secret")
async def regenerate_webhook_secret(request: web.Request) -> web.Response:
    """A new webhook signing secret, in this reply only; the old one stops signing at once."""
    session = await require_api_session(request)
    require_json_if_body(request)
    reply = await registry(request).regenerate_webhook_secret(
        session.user_id, _client_id(request), request_id=request_id(request)
    )
    data = {"client_id": reply.client_id, "webhook_secret": reply.webhook_secret}
    return json_response(data, headers=NO_STORE)


@routes.post(BASE + "/{client_id}/revoke-tokens")
async def revoke_tokens(request: web.Request) -> web.Response:
    """One registry command: it checks ownership (404 otherwise) and has revocation do the work."""
    session = await require_api_session(request)
    require_json(request)
    revoked = await revoke_app_tokens(request, _client_id(request), actor=session.user_id)
    if revoked.pending:  # queued: carried out when the revocation service is back
        pending = {"client_id": revoked.client_id, "revocation": "pending"}
        return json_response(pending, status=202, headers=NO_STORE)
    done = {"client_id": revoked.client_id, "families_revoked": revoked.families_revoked}
    return json_response(done, headers=NO_STORE)


@routes.put(BASE + "/{client_id}/logo")
async def put_logo(request: web.Request) -> web.Response:
    session = await require_api_session(request)
    data = await logo_upload(request)
    try:
        png = await prepare_logo(request, data)
    except LogoError as exc:
        raise ValidationFailed({"logo": str(exc)}) from None
    view = await registry(request).put_logo(
        session.user_id, _client_id(request), png, request_id=request_id(request)
    )
    return json_response(app_json(view), headers=NO_STORE)


@routes.delete(BASE + "/{client_id}/logo")
async def remove_logo(request: web.Request) -> web.Response:
    session = await require_api_session(request)
    require_json_if_body(request)
    view = await registry(request).remove_logo(
        session.user_id, _client_id(request), request_id=request_id(request)
    )
    return json_response(app_json(view), headers=NO_STORE)
