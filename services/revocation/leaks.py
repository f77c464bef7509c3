"""Leaked access and refresh tokens (a secret-scanning report, or the app owner's form): the token's
whole grant is revoked at once.

A live token (its HMAC found): every family of that user x app is tombstoned, the grant dropped (the
user's Connected apps entry goes), ``TokensRevoked`` (reason ``leaked``, the url) evicts it from every
verification cache, and ``CredentialLeaked`` (type, SHA-256 of the token, url, source) goes to the
app's audit trail. A token that is not live is ``issued`` (a true positive, nothing to do) when its
family still has a record or a tombstone (``FamilyStore.family_known``): that is how an expired or
already revoked Mavio token is told from a made-up string with a valid checksum. Once a family's
tombstone has expired too (its last token's lifetime after the revocation), its tokens read as unknown.

Once, however many identical reports arrive at the same time: the reported token's own family is
tombstoned first, and only the call whose tombstone was the first (``Revoked.first``) cascades,
publishes and audits; the others answer the same ``true_positive``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import msgspec
import structlog
from prometheus_client import Counter

from services.revocation.cascade import Cascades
from services.revocation.publisher import Publish
from services.revocation.store import RevocationStore
from shared.grants.records import AccessTokenRecord, RefreshTokenRecord
from shared.messages import events as ev
from shared.messages.leaks import (
    LeakedCredential,
    LeakVerdict,
    ReportLeakedReply,
    ReportLeakedRequest,
    reporter_of,
)
from shared.tokens import Signer, parse

log = structlog.get_logger("mavio.revocation")

REASON = "leaked"
TYPES = {"at": "access_token", "rt": "refresh_token"}
UNKNOWN = LeakVerdict(issued=False)
_decode_access = msgspec.json.Decoder(AccessTokenRecord).decode
_decode_refresh = msgspec.json.Decoder(RefreshTokenRecord).decode


def _owner(kind: str, raw: bytes | None) -> tuple[str, str] | None:
    """(client id, user id) of a live token's record."""
    if raw is None:
        return None
    record = _decode_access(raw) if kind == "at" else _decode_refresh(raw)
    return record.client_id, record.user_id


class LeakedTokens:
    def __init__(
        self,
        store: RevocationStore,
        cascades: Cascades,
        signer: Signer,
        publish: Publish,
        *,
        clock: Callable[[], float] = time.time,
        leaked: Counter | None = None,  # ``mavio_credentials_leaked_total``
        revoked: Counter | None = None,  # ``mavio_tokens_revoked_total`` (the reported family's tokens)
    ) -> None:
        self._store = store
        self._cascades = cascades
        self._signer = signer
        self._publish = publish
        self._clock = clock
        self._leaked = leaked
        self._revoked = revoked

    async def report(self, req: ReportLeakedRequest) -> ReportLeakedReply:
        """One verdict per item, in order; each live token's grant revoked before the reply."""
        return ReportLeakedReply(verdicts=[await self._one(item, req) for item in req.items])

    async def _one(self, item: LeakedCredential, req: ReportLeakedRequest) -> LeakVerdict:
        parsed = parse(item.token)
        if parsed is None or parsed.kind not in TYPES:
            return UNKNOWN
        signature = self._signer.sign(item.token)
        getter = self._store.get_access if parsed.kind == "at" else self._store.get_refresh
        raw = await getter(parsed.family, signature)
        owner = _owner(parsed.kind, raw)
        if owner is None or (req.client_id and owner[0] != req.client_id):
            if req.client_id:  # the owner's form: only a live credential of that app is anything
                return UNKNOWN
            return LeakVerdict(issued=await self._store.family_known(parsed.family))
        client_id, user_id = owner
        tombstoned = await self._store.revoke(parsed.family, now=int(self._clock()))
        if not tombstoned.first:
            return LeakVerdict(issued=True)  # a concurrent report of it got there first and acts
        if self._revoked is not None:  # the cascade below finds this family's tokens gone already
            self._revoked.labels(reason=REASON).inc(tombstoned.tokens)
        await self._cascades.revoke_grant(
            user_id, client_id, reason=REASON, actor=req.actor, url=item.url, also=[parsed.family]
        )
        credential_type = TYPES[parsed.kind]
        await self._announce(item, req, client_id, credential_type)
        log.info(
            "leaked token: grant revoked",
            family=parsed.family,
            client_id=client_id,
            credential_type=credential_type,
            token_hash=item.token_hash,
        )
        return LeakVerdict(issued=True, revoked=True, client_id=client_id)

    async def _announce(
        self, item: LeakedCredential, req: ReportLeakedRequest, client_id: str, credential_type: str
    ) -> None:
        """``CredentialLeaked`` to the app's audit trail (and webhook), and the metric."""
        await self._publish(
            ev.CredentialLeaked(
                at=self._clock(),
                client_id=client_id,
                actor=req.actor,
                credential_type=credential_type,
                token_hash=item.token_hash,
                url=item.url,
                source=item.source,
            )
        )
        if self._leaked is not None:
            self._leaked.labels(credential_type=credential_type, reporter=reporter_of(req.actor)).inc()
