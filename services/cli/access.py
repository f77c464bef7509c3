"""``mavio-oauth users revoke-access EMAIL [--app CLIENT_ID]``: the operator ends a user's access.

The revocation service owns grants, so the command asks it (``subjects.REVOCATION_REVOKE_USER_ACCESS``,
which of the bus users only the CLI's may publish): it revokes the user's grant to the app, or every
grant of the user, each with reason ``operator`` and actor ``operator`` in the app's audit trail (and so
an ``authorization.revoked`` webhook with reason ``operator`` to each app that has one).
"""

from __future__ import annotations

from services.cli.connect import connect_bus
from shared import subjects
from shared.bus import Bus
from shared.config import Settings
from shared.errors import InvalidRequest
from shared.messages.events import OPERATOR
from shared.messages.revocation import RevokeUserAccessReply, RevokeUserAccessRequest
from shared.tokens import is_client_id


async def revoke_access(settings: Settings, user_id: str, email: str, client_id: str) -> str:
    if client_id and not is_client_id(client_id):
        raise InvalidRequest(f"not a client id: {client_id[:64]}")
    nc = await connect_bus(settings)
    try:
        reply = await Bus(nc, timeout=max(settings.bus_timeout, 10.0)).request(
            subjects.REVOCATION_REVOKE_USER_ACCESS,
            RevokeUserAccessRequest(user_id=user_id, client_id=client_id, actor=OPERATOR),
            RevokeUserAccessReply,
        )
    finally:
        await nc.close()
    apps = ", ".join(reply.client_ids) or "none"
    count = len(reply.client_ids)
    return f"{email}: access revoked to {count} app(s) ({apps}); families revoked: {reply.families_revoked}"
