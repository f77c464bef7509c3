"""The authorization code grant at the token endpoint (RFC 6749 §4.1.3, RFC 7636 §4.6, RFC 9700 §4.8).

Order: the store checks that the code was issued to the authenticated client before anything else (a
code presented by another client is refused, neither consumed nor, once used, treated as reuse: a
leaked code cannot burn or revoke the rightful client's grant), then takes it exactly once (atomically,
even under concurrent requests); then it is checked against the client, the redirect URI and the PKCE
verifier; a failed check leaves the code consumed (one try). The first token pair is issued into the
code's family. A second use of a code by its client revokes everything issued from it
(``services.token.reuse``).

On a single Redis the common case is one step (``CodeStore.redeem``): the pair is minted first, and the
store issues it with the code's consumption when the record binds to the request. The store's binding is
never looser than ``check_code``; a record it does not bind comes back consumed, and is checked and
issued (or refused) here, in two steps, as on a Redis Cluster.
"""

from __future__ import annotations

import msgspec
import structlog

from services.token.id_tokens import IdTokens
from services.token.issuance import MintedPair, first_records, mint_pair, token_reply
from services.token.metrics import TokenMetrics
from services.token.reuse import ReuseResponder
from shared.errors import InvalidGrant, InvalidRequest
from shared.grants.records import CodeRecord, oidc_session
from shared.grants.storage import (
    CodeStore,
    CodeTaken,
    FamilyStore,
    FirstPair,
    Issued,
    Redemption,
    Refused,
    Reused,
)
from shared.messages.token import ExchangeTokenReply, ExchangeTokenRequest
from shared.oidc_claims import has_openid
from shared.pkce import is_verifier, s256_challenge, verify_s256
from shared.tokens import Signer, parse

log = structlog.get_logger("mavio.token")
_decode_code = msgspec.json.Decoder(CodeRecord).decode

INVALID_CODE = "the authorization code is invalid, expired or revoked"


def check_code(
    record: CodeRecord, *, client_id: str, redirect_uri: str, code_verifier: str, now: int
) -> None:
    """Raise ``InvalidGrant`` unless this client may redeem ``record`` with these parameters."""
    if record.client_id != client_id:
        raise InvalidGrant(INVALID_CODE, debug="code issued to another client")
    if record.expires_at <= now:
        raise InvalidGrant(INVALID_CODE, debug="code expired")
    if redirect_uri != record.redirect_uri and (redirect_uri or record.redirect_uri_given):
        raise InvalidGrant("redirect_uri must be identical to the one in the authorization request")
    if record.code_challenge:
        if not code_verifier:
            raise InvalidGrant("code_verifier is required: the authorization request had a code_challenge")
        if record.code_challenge_method != "S256" or not verify_s256(code_verifier, record.code_challenge):
            raise InvalidGrant("code_verifier does not match the code_challenge")
    elif code_verifier:  # RFC 9700 §4.8.2: refuse a verifier the authorization request did not commit to
        raise InvalidGrant("code_verifier given but the authorization request had no code_challenge")


def redemption_of(client_id: str, req: ExchangeTokenRequest, pair: MintedPair) -> Redemption | None:
    """What the store binds the code's record to, to issue ``pair`` in the same step; None for a
    verifier outside RFC 7636's grammar (no challenge matches it: ``check_code`` refuses)."""
    verifier = req.code_verifier
    if verifier and not is_verifier(verifier):
        return None
    return Redemption(
        client_id=client_id,
        redirect_uri=req.redirect_uri,
        challenge=s256_challenge(verifier) if verifier else "",
        access_sig=pair.access_sig,
        refresh_sig=pair.refresh_sig,
    )


def first_pair(
    record: CodeRecord, pair: MintedPair, *, now: int, access_ttl: int, refresh_ttl: int
) -> FirstPair:
    """``pair`` as the family's first, its records made from the code's (the two-step issue)."""
    access, refresh = first_records(
        pair,
        family=record.family,
        client_id=record.client_id,
        user_id=record.user_id,
        scope=record.scope,
        now=now,
        access_ttl=access_ttl,
        refresh_ttl=refresh_ttl,
    )
    return FirstPair(
        family=record.family,
        client_id=record.client_id,
        user_id=record.user_id,
        scope=record.scope,
        access_sig=pair.access_sig,
        access_record=access,
        refresh_sig=pair.refresh_sig,
        refresh_record=refresh,
        oidc=msgspec.json.encode(oidc_session(record)) if has_openid(record.scope) else b"",
    )


class CodeGrant:
    def __init__(
        self,
        *,
        codes: CodeStore,
        families: FamilyStore,
        reuse: ReuseResponder,
        signer: Signer,
        access_ttl: int,
        refresh_ttl: int,
        metrics: TokenMetrics | None = None,
        id_tokens: IdTokens | None = None,
    ) -> None:
        self._id_tokens = id_tokens
        self._issued = (metrics if metrics is not None else TokenMetrics()).issued_by_code
        self._codes = codes
        self._families = families
        self._reuse = reuse
        self._signer = signer
        self._access_ttl = access_ttl
        self._refresh_ttl = refresh_ttl

    async def exchange(
        self, client_id: str, req: ExchangeTokenRequest, *, now: int, public: bool = False
    ) -> ExchangeTokenReply:
        """``public``: the client has no secret, so PKCE is its proof (RFC 9700 §2.1.1): a request without
        a ``code_verifier`` is refused before the code is looked at."""
        if not req.code:
            raise InvalidRequest("code is required")
        if public and not req.code_verifier:
            raise InvalidRequest("code_verifier is required: a public client must use PKCE (RFC 7636)")
        parsed = parse(req.code, "code")
        if parsed is None:
            raise InvalidGrant(INVALID_CODE, debug="malformed code")
        signature = self._signer.sign(req.code)
        pair = mint_pair(parsed.family, self._signer)
        redemption = redemption_of(client_id, req, pair)
        outcome: Issued | CodeTaken | Reused | Refused
        if redemption is None:
            outcome = await self._codes.consume(parsed.family, signature, client_id=client_id, now=now)
        else:
            outcome = await self._codes.redeem(parsed.family, signature, redemption, now=now)
        if isinstance(outcome, Issued):
            self._issued.inc()
            reply = token_reply(pair, scope=outcome.scope, expires_in=self._access_ttl)
            return await self._with_id_token(reply, outcome.record, now=now)
        if isinstance(outcome, Reused):
            await self._reuse.revoked_by_reuse(outcome.revoked, kind="code", presenting_client=client_id)
            raise InvalidGrant("the authorization code was already used; tokens issued from it are revoked")
        if not isinstance(outcome, CodeTaken):
            if outcome.reason == "wrong_client":
                log.warning("code presented by another client: refused, nothing consumed or revoked")
            raise InvalidGrant(INVALID_CODE, debug=f"code {outcome.reason}")
        record = _decode_code(outcome.record)
        check_code(
            record,
            client_id=client_id,
            redirect_uri=req.redirect_uri,
            code_verifier=req.code_verifier,
            now=now,
        )
        return await self._issue(record, pair, now=now)

    async def issue_approved(self, record: CodeRecord, *, now: int) -> ExchangeTokenReply:
        """The first pair for an approval taken elsewhere (an RFC 8628 device authorization, whose
        approval is a code record), through the same issuance as a code exchanged in two steps."""
        if record.expires_at <= now:
            raise InvalidGrant(INVALID_CODE, debug="approval expired")
        return await self._issue(record, mint_pair(record.family, self._signer), now=now)

    async def _issue(self, record: CodeRecord, pair: MintedPair, *, now: int) -> ExchangeTokenReply:
        first = first_pair(record, pair, now=now, access_ttl=self._access_ttl, refresh_ttl=self._refresh_ttl)
        # Counted first, then issued: a concurrent revocation then always uncounts after (idempotently).
        if not await self._families.issue_first_counted(first, now=now):
            raise InvalidGrant(INVALID_CODE, debug="family revoked before issuance")
        self._issued.inc()
        reply = token_reply(pair, scope=record.scope, expires_in=self._access_ttl)
        return await self._with_id_token(reply, record, now=now)

    async def _with_id_token(
        self, reply: ExchangeTokenReply, record: CodeRecord | bytes, *, now: int
    ) -> ExchangeTokenReply:
        """The reply with an ID token (OpenID Connect Core 1.0 §3.1.3.3) when the scope holds openid."""
        if self._id_tokens is None or not has_openid(reply.scope) or not record:
            return reply
        code = _decode_code(record) if isinstance(record, bytes) else record
        return await self._id_tokens.attach(
            reply,
            client_id=code.client_id,
            user_id=code.user_id,
            session=oidc_session(code),
            nonce=code.nonce,
            now=now,
        )
