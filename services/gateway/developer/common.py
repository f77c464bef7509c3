"""What the developer pages and the JSON API share: the owner's session, CSRF-checked forms, and the
call that revokes every token of an app."""

from __future__ import annotations

from aiohttp import web

from services.gateway.developer.forms import FormData, text
from services.gateway.sessions import Session, check_csrf, require_session
from services.gateway.web_helpers import registry, request_id
from shared.messages.registry import RevokeAppTokensReply

APPS_PATH = "/settings/developer/oauth-apps"


def app_path(client_id: str, action: str = "") -> str:
    return f"{APPS_PATH}/{client_id}" + (f"/{action}" if action else "")


async def checked_form(request: web.Request) -> tuple[Session, FormData]:
    """The signed-in session and the submitted form, refused unless it carries the CSRF token."""
    session = await require_session(request)
    form = await request.post()
    check_csrf(session, text(form.get("csrf_token")))
    return session, form


async def revoke_app_tokens(request: web.Request, client_id: str, *, actor: str) -> RevokeAppTokensReply:
    """Have every code and token of the app revoked (``actor``: the owner): the registry queues the
    command for the revocation service and says ``pending`` when it did not answer in time (the
    revocation is then carried out when it is back). Nothing may pretend it worked."""
    return await registry(request).revoke_app_tokens(actor, client_id, request_id=request_id(request))
