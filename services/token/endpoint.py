"""The token endpoint (RFC 6749 §3.2): grant type, client authentication, then the grant's flow.

Checks in this order (as Authlib's ``AuthorizationServer`` does): ``grant_type`` present
(``invalid_request``) and known (``unsupported_grant_type``, before any client lookup); the client's
credentials against its app record, read from Redis (``invalid_client``;
``shared.apps.client_auth_cache``, no registry round trip); whether this client may use the grant
(``unauthorized_client``); then the grant's own parameters.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Final

from services.token.device import DeviceGrant
from services.token.exchange_code import CodeGrant
from services.token.refresh import RefreshGrant
from shared.apps.settings import PUBLIC
from shared.client_auth import ClientVerifier
from shared.errors import InvalidRequest, UnauthorizedClient, UnsupportedGrantType
from shared.messages.device import StartDeviceReply, StartDeviceRequest
from shared.messages.registry import AppView
from shared.messages.token import ExchangeTokenReply, ExchangeTokenRequest

# A reply's ID token added when its grant did not add one (``IdTokens.attach_for_grant``), for ``now``.
IdTokenNet = Callable[[ExchangeTokenReply, int], Awaitable[ExchangeTokenReply]]
DEVICE_FLOW_OFF: Final = "the device flow is not enabled for this app"

AUTHORIZATION_CODE: Final = "authorization_code"
REFRESH_TOKEN: Final = "refresh_token"
DEVICE_CODE: Final = "urn:ietf:params:oauth:grant-type:device_code"  # RFC 8628 §3.4
GRANT_TYPES: Final = (AUTHORIZATION_CODE, REFRESH_TOKEN, DEVICE_CODE)
# RFC 6749 grant types this server understands but never allows a Mavio app: every Mavio token acts for
# a user, so no app may obtain one for itself (client_credentials). The password and implicit flows
# are gone (RFC 9700 §2.4) and stay ``unsupported_grant_type``.
NOT_FOR_APPS: Final = frozenset({"client_credentials"})


class TokenEndpoint:
    def __init__(
        self,
        clients: ClientVerifier,
        code: CodeGrant,
        refresh: RefreshGrant,
        device: DeviceGrant,
        *,
        id_tokens: IdTokenNet | None = None,
    ) -> None:
        self._clients = clients
        self._code = code
        self._refresh = refresh
        self._id_tokens = id_tokens
        self._device = device

    async def exchange(self, req: ExchangeTokenRequest, *, request_id: str) -> ExchangeTokenReply:
        grant = req.grant_type
        if not grant:
            raise InvalidRequest("grant_type is required")
        if grant not in GRANT_TYPES and grant not in NOT_FOR_APPS:
            raise UnsupportedGrantType(f"grant_type must be one of: {', '.join(GRANT_TYPES)}")
        app = await self._clients.verify_client(req.client_id, req.client_secret, request_id=request_id)
        if grant in NOT_FOR_APPS:
            raise UnauthorizedClient(f"this client may not use the {grant} grant")
        if grant == DEVICE_CODE:
            device_flow_enabled(app)
            return await self._device.poll(app.client_id, req, now_ms=time.time_ns() // 1_000_000)
        now = int(time.time())
        if grant == AUTHORIZATION_CODE:
            reply = await self._code.exchange(app.client_id, req, now=now, public=app.client_type == PUBLIC)
        else:
            reply = await self._refresh.refresh(app.client_id, req, now=now)
        return await self._with_id_token(reply, now)

    async def _with_id_token(self, reply: ExchangeTokenReply, now: int) -> ExchangeTokenReply:
        """Every grant whose tokens hold openid answers with an ID token (OpenID Connect Core 1.0
        §3.1.3.3): the grants add theirs (with the code's nonce); any other gets one here."""
        return reply if self._id_tokens is None else await self._id_tokens(reply, now)

    async def device_authorization(self, req: StartDeviceRequest, *, request_id: str) -> StartDeviceReply:
        """RFC 8628 §3.1: the client authenticated as at this endpoint, then the app's device flow."""
        app = await self._clients.verify_client(req.client_id, req.client_secret, request_id=request_id)
        device_flow_enabled(app)
        return await self._device.start(app, req, now=int(time.time()))


def device_flow_enabled(app: AppView) -> None:
    """RFC 8628 §3.2, §3.5: an app without the device flow enabled is ``unauthorized_client``."""
    if not app.device_flow:
        raise UnauthorizedClient(DEVICE_FLOW_OFF)
