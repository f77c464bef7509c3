"""Token revocation (RFC 7009) for an authenticated client.

Decisions (RFC 7009 §2.1 leaves them to the server):
- ``token_type_hint`` is accepted and ignored, whatever its value: the token's prefix names its kind, so
  the server never needs the hint, and an unknown hint is not worth an ``unsupported_token_type``.
- A refresh token revokes its whole family: every access and refresh token of the grant (RFC 7009 §2.1
  "SHOULD also invalidate all access tokens based on the same authorization grant"). A rotated refresh
  token of the client counts as well: the client asked to end that grant.
- An access token revokes that access token only; the refresh token (and so the grant) stays, as
  §2.1 allows. A client that wants the grant gone revokes its refresh token.
- Another client's token: 400 ``unauthorized_client`` and the token is left untouched (§2.1).
- Unknown, expired, already revoked or malformed tokens, and authorization codes: 200, nothing done
  (§2.2: the response must not reveal whether a token was valid).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import msgspec
import structlog
from prometheus_client import Counter

from services.revocation.cascade import Cascades
from services.revocation.domain import check_owner
from services.revocation.publisher import Publish
from services.revocation.store import RevocationStore
from shared.client_auth import ClientVerifier
from shared.errors import InvalidRequest
from shared.grants.records import AccessTokenRecord, RefreshTokenRecord
from shared.messages import events as ev
from shared.messages.revocation import RevokeTokenReply, RevokeTokenRequest
from shared.tokens import Signer, parse

log = structlog.get_logger("mavio.revocation")

REASON = "rfc7009"
NOTHING = RevokeTokenReply(revoked=False)
_decode_access = msgspec.json.Decoder(AccessTokenRecord).decode
_decode_refresh = msgspec.json.Decoder(RefreshTokenRecord).decode


class TokenRevoker:
    def __init__(
        self,
        clients: ClientVerifier,
        store: RevocationStore,
        cascades: Cascades,
        signer: Signer,
        publish: Publish,
        *,
        clock: Callable[[], float] = time.time,
        revoked: Counter | None = None,  # ``mavio_tokens_revoked_total``
    ) -> None:
        self._revoked = None if revoked is None else revoked.labels(reason=REASON)
        self._clients = clients
        self._store = store
        self._cascades = cascades
        self._signer = signer
        self._publish = publish
        self._clock = clock

    async def revoke(self, req: RevokeTokenRequest, *, request_id: str) -> RevokeTokenReply:
        """RFC 7009 §2.1: authenticate the client, then revoke the token if it is the client's."""
        if not req.token:
            raise InvalidRequest("token is required")
        app = await self._clients.verify_client(req.client_id, req.client_secret, request_id=request_id)
        structlog.contextvars.bind_contextvars(client_id=app.client_id)
        parsed = parse(req.token)
        if parsed is None or parsed.kind in ("code", "dc"):
            return NOTHING
        signature = self._signer.sign(req.token)
        if parsed.kind == "at":
            return await self._revoke_access(app.client_id, parsed.family, signature)
        return await self._revoke_refresh(app.client_id, parsed.family, signature)

    async def _revoke_access(self, client_id: str, family: str, signature: str) -> RevokeTokenReply:
        raw = await self._store.get_access(family, signature)
        if raw is None:
            return NOTHING
        record = _decode_access(raw)
        check_owner(record.client_id, client_id)
        if not await self._store.revoke_access(family, signature):
            return NOTHING
        log.info("access token revoked", family=family)
        if self._revoked is not None:
            self._revoked.inc()
        await self._publish(
            ev.TokensRevoked(
                at=self._clock(),
                client_id=client_id,
                actor=ev.CLIENT,
                families=[family],
                user_id=record.user_id,
                reason=REASON,
            )
        )
        return RevokeTokenReply(revoked=True)

    async def _revoke_refresh(self, client_id: str, family: str, signature: str) -> RevokeTokenReply:
        raw = await self._store.get_refresh(family, signature)
        if raw is None:
            return NOTHING
        record = _decode_refresh(raw)
        check_owner(record.client_id, client_id)
        owners = {family: record.user_id}
        await self._cascades.revoke_families(
            client_id, owners, reason=REASON, user_id=record.user_id, actor=ev.CLIENT
        )
        log.info("refresh token revoked: family revoked", family=family)
        return RevokeTokenReply(revoked=True)
