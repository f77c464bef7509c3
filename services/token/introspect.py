"""Token introspection for the client that owns the token (RFC 7662 §2).

The calling client authenticates like at the token endpoint, and must be confidential: a public app
(``client_id`` alone) is ``invalid_client`` (§2.1: the endpoint requires authentication); a token
of any other client, or anything unknown, expired, revoked or malformed, is ``{"active": false}``
(§2.2: no oracle). Access tokens and current (not yet rotated) refresh tokens are introspectable;
``token_type_hint`` is accepted and not needed (the prefix names the kind).
Introspection is not an API call: it does not count in the app's statistics.
"""

from __future__ import annotations

import time

import msgspec

from services.token.verify import active_access_record, introspection
from shared.apps.settings import PUBLIC
from shared.client_auth import ClientVerifier
from shared.errors import InvalidClient
from shared.grants.records import RefreshTokenRecord
from shared.grants.storage import AccessTokenStore, RefreshTokenStore
from shared.messages.token import Introspection, IntrospectTokenRequest
from shared.tokens import Signer, parse

INACTIVE = Introspection(active=False)
_decode_refresh = msgspec.json.Decoder(RefreshTokenRecord).decode


class Introspector:
    def __init__(
        self, clients: ClientVerifier, access: AccessTokenStore, refresh: RefreshTokenStore, signer: Signer
    ) -> None:
        self._clients = clients
        self._access = access
        self._refresh = refresh
        self._signer = signer

    async def introspect(self, req: IntrospectTokenRequest, *, request_id: str) -> Introspection:
        app = await self._clients.verify_client(req.client_id, req.client_secret, request_id=request_id)
        if app.client_type == PUBLIC:
            raise InvalidClient("introspection requires client authentication: a public client cannot use it")
        info = await self._lookup(req.token)
        if info.active and info.client_id != app.client_id:
            return INACTIVE
        return info

    async def _lookup(self, token: str) -> Introspection:
        parsed = parse(token)
        if parsed is None:
            return INACTIVE
        if parsed.kind == "at":
            record = await active_access_record(self._access, self._signer, token)
            return INACTIVE if record is None else introspection(record)
        if parsed.kind == "rt":
            return await self._refresh_info(parsed.family, token)
        return INACTIVE  # authorization codes are not introspectable

    async def _refresh_info(self, family: str, token: str) -> Introspection:
        raw = await self._refresh.get_refresh(family, self._signer.sign(token))
        if raw is None:
            return INACTIVE
        record = _decode_refresh(raw)
        if record.rotated_at or (record.expires_at and record.expires_at <= time.time()):
            return INACTIVE
        return Introspection(
            active=True,
            client_id=record.client_id,
            sub=record.user_id,
            scope=record.scope,
            exp=record.expires_at or None,
            iat=record.issued_at,
            token_type="refresh_token",
        )
