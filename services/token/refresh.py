"""The refresh token grant with rotation and a replay window (RFC 6749 §6, RFC 9700 §4.14.2).

The successor pair is minted and, when the replay window is on, sealed (under the presented token)
here, then ONE store operation decides: rotate (first request), replay (a racer within
``MAVIO_REFRESH_REPLAY_WINDOW`` asking for the same scope: the very same sealed pair, opened with the
presented token; asking for another scope: ``invalid_grant``, nothing revoked), or reuse (after the
window: the whole family is revoked). Every replay is audited (``services.token.replay_audit``).
The successor refresh token lives ``MAVIO_REFRESH_TOKEN_TTL`` from now (sliding expiry).
"""

from __future__ import annotations

from services.token.id_tokens import IdTokens
from services.token.issuance import mint_pair, open_successor, seal_successor, token_reply
from services.token.metrics import TokenMetrics
from services.token.replay_audit import ReplayAuditor
from services.token.reuse import ReuseResponder
from shared.errors import InvalidGrant, InvalidRequest, InvalidScope
from shared.grants.storage import (
    IndexStore,
    OidcSessions,
    RefreshTokenStore,
    Replayed,
    ReplayRefused,
    Reused,
    Rotated,
    Rotation,
)
from shared.messages.token import ExchangeTokenReply, ExchangeTokenRequest
from shared.oidc_claims import has_openid
from shared.scopes import join_scope, parse_scope
from shared.tokens import Signer, parse

INVALID_REFRESH = "the refresh token is invalid, expired or revoked"


def requested_scope(value: str) -> str:
    """The ``scope`` parameter normalised (deduplicated, single spaces); "" keeps the granted scope."""
    try:
        return join_scope(parse_scope(value))
    except ValueError as exc:
        raise InvalidScope("the scope parameter is malformed", debug=str(exc)) from None


class RefreshGrant:
    def __init__(
        self,
        *,
        tokens: RefreshTokenStore,
        indexes: IndexStore,
        reuse: ReuseResponder,
        replays: ReplayAuditor,
        signer: Signer,
        access_ttl: int,
        refresh_ttl: int,
        replay_window: int,
        metrics: TokenMetrics | None = None,
        id_tokens: IdTokens | None = None,
        sessions: OidcSessions | None = None,
    ) -> None:
        self._id_tokens = id_tokens
        self._sessions = sessions
        self._metrics = metrics if metrics is not None else TokenMetrics()
        self._tokens = tokens
        self._indexes = indexes
        self._reuse = reuse
        self._replays = replays
        self._signer = signer
        self._access_ttl = access_ttl
        self._refresh_ttl = refresh_ttl
        self._replay_window = replay_window  # seconds; 0: nothing is ever replayed, so nothing is sealed

    async def refresh(self, client_id: str, req: ExchangeTokenRequest, *, now: int) -> ExchangeTokenReply:
        presented = req.refresh_token
        if not presented:
            raise InvalidRequest("refresh_token is required")
        scope = requested_scope(req.scope)
        parsed = parse(presented, "rt")
        if parsed is None:
            raise InvalidGrant(INVALID_REFRESH, debug="malformed refresh token")
        presented_sig = self._signer.sign(presented)
        pair = mint_pair(parsed.family, self._signer)
        expires_at = now + self._access_ttl
        rotation = Rotation(
            family=parsed.family,
            presented_sig=presented_sig,
            client_id=client_id,
            scope=scope,
            access_sig=pair.access_sig,
            refresh_sig=pair.refresh_sig,
            sealed=seal_successor(presented, presented_sig, pair, expires_at=expires_at)
            if self._replay_window > 0
            else b"",
        )
        outcome = await self._tokens.rotate(rotation, now=now)
        match outcome:
            case Rotated(scope=granted, user_id=user_id, slide=slide):
                if slide:  # one Redis round trip for a family refreshed again within the slack
                    await self._indexes.slide_family(
                        client_id, user_id, parsed.family, expires_at=now + self._refresh_ttl, now=now
                    )
                self._metrics.rotated.inc()
                self._metrics.issued_by_refresh.inc()
                reply = token_reply(pair, scope=granted, expires_in=self._access_ttl)
                return await self._with_id_token(reply, client_id, user_id, parsed.family, now)
            case Replayed(sealed=sealed, scope=granted, user_id=user_id):
                successor = open_successor(presented, presented_sig, sealed)
                if successor is None:  # cannot happen unless the store was tampered with
                    raise InvalidGrant(INVALID_REFRESH, debug="sealed successor did not open")
                self._metrics.replayed.inc()
                await self._replays.replayed(rotation, user_id=user_id, issued=granted, suspicious=False)
                reply = token_reply(successor, scope=granted, expires_in=successor.expires_at - now)
                return await self._with_id_token(reply, client_id, user_id, parsed.family, now)
            case ReplayRefused(scope=issued, user_id=user_id):
                await self._replays.replayed(rotation, user_id=user_id, issued=issued, suspicious=True)
                raise InvalidGrant(INVALID_REFRESH, debug="replay asked for another scope than the rotation")
            case Reused(revoked=revoked):
                await self._reuse.revoked_by_reuse(revoked, kind="refresh", presenting_client=client_id)
                raise InvalidGrant("the refresh token was already used; the grant is revoked")
        if outcome.reason == "invalid_scope":
            raise InvalidScope("the requested scope exceeds the scope granted")
        raise InvalidGrant(INVALID_REFRESH, debug=f"refresh token {outcome.reason}")

    async def _with_id_token(
        self, reply: ExchangeTokenReply, client_id: str, user_id: str, family: str, now: int
    ) -> ExchangeTokenReply:
        """A fresh ID token (OpenID Connect Core 1.0 §12.2) when the scope holds openid: the same sub,
        auth_time and sid as the family's first, no nonce; fresh iat, exp and at_hash."""
        if self._id_tokens is None or self._sessions is None or not has_openid(reply.scope):
            return reply
        session = await self._sessions.oidc_session(family)
        return await self._id_tokens.attach(
            reply, client_id=client_id, user_id=user_id, session=session, now=now
        )
