"""ID tokens (OpenID Connect Core 1.0 §2, §3.1.3.6, §12.2): one issuance for every grant.

Any grant whose tokens' scope holds ``openid`` hands its reply here (``IdTokens.attach``): code
exchange (with the authorization request's nonce), refresh (no nonce; the same ``auth_time`` and
``sid``, kept with the family), and any grant added later (the device grant). Claims: ``iss`` (the
issuer of the metadata), ``sub`` (the user id, as introspection gives it), ``aud`` (the client id),
``exp`` (``MAVIO_ID_TOKEN_TTL``), ``iat``, ``auth_time`` and ``sid`` when known, ``nonce`` when sent,
``at_hash``, and the user claims the ``claims`` request asked into the ID token (``claims``). Signed
with the current key of the app's ``id_token_signed_response_alg`` (RS256 by default).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from services.token.keyring import Keyring
from services.token.verify import active_access_record
from shared import oidc_claims as oidc
from shared.accounts.store import AccountStore
from shared.grants.records import OidcSession
from shared.grants.storage import AccessTokenStore, OidcSessions
from shared.messages.token import ExchangeTokenReply
from shared.signing.keyset import ALGS, Alg
from shared.tokens import Signer

AlgOf = Callable[[str], Awaitable[str]]  # client id -> the app's id_token_signed_response_alg


class IdTokens:
    def __init__(
        self, keyring: Keyring, accounts: AccountStore, alg_of: AlgOf, *, issuer: str, ttl: int
    ) -> None:
        self._keyring = keyring
        self._accounts = accounts
        self._alg_of = alg_of
        self._issuer = issuer
        self._ttl = ttl

    async def attach(
        self,
        reply: ExchangeTokenReply,
        *,
        client_id: str,
        user_id: str,
        session: OidcSession | None,
        nonce: str = "",
        now: int,
    ) -> ExchangeTokenReply:
        """``reply`` with an ``id_token`` when its scope holds ``openid``; else ``reply`` itself."""
        if not oidc.has_openid(reply.scope):
            return reply
        known = session or OidcSession()
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "sub": user_id,
            "aud": client_id,
            "exp": now + self._ttl,
            "iat": now,
            "at_hash": oidc.at_hash(reply.access_token),
        }
        if known.auth_time:
            claims["auth_time"] = known.auth_time
        if known.sid:
            claims["sid"] = known.sid
        if nonce:
            claims["nonce"] = nonce
        claims |= await self._user_claims(user_id, reply.scope, known.claims)
        alg = await self._alg_of(client_id)
        signed = self._keyring.sign(claims, _alg(alg))
        return msgspec.structs.replace(reply, id_token=signed)

    async def attach_for_grant(
        self,
        reply: ExchangeTokenReply,
        *,
        tokens: AccessTokenStore,
        sessions: OidcSessions,
        signer: Signer,
        now: int,
    ) -> ExchangeTokenReply:
        """The common path's safety net (``TokenEndpoint``): a reply with ``openid`` that its grant did
        not give an ID token (a grant added later, e.g. the device grant) gets one, for the user and
        the OIDC session its access token's family holds."""
        if not oidc.has_openid(reply.scope) or reply.id_token is not msgspec.UNSET:
            return reply
        record = await active_access_record(tokens, signer, reply.access_token)
        if record is None:
            return reply
        session = await sessions.oidc_session(record.family)
        return await self.attach(
            reply, client_id=record.client_id, user_id=record.user_id, session=session, now=now
        )

    async def _user_claims(self, user_id: str, scope: str, claims_request: str) -> dict[str, Any]:
        asked = oidc.requested(claims_request, "id_token")
        names = [c for c in oidc.allowed(scope) if c in asked]
        if not names:
            return {}
        return oidc.user_claims(await self._accounts.get(user_id), names)


def _alg(value: str) -> Alg:
    return next((a for a in ALGS if a == value), "RS256")
