"""Bearer token verification for Mavio's resource servers (``mavio.oauth.v1.token.verify``).

Answers in RFC 7662 §2.2 form. The hot path of the whole system, so: a malformed token (shape or
checksum) is refused without Redis; otherwise exactly one GET of the access token record (keyed by the
token's HMAC), an expiry check, and the reply. The API call is counted in memory and flushed later
(``services.token.calls``); nothing is logged for a successful verification. A refresh token is never
active here (RFC 6750: only access tokens are bearer tokens).

``verify_many`` (``mavio.oauth.v1.token.verify_many``) answers a list of tokens exactly as ``verify``
answers each one, in order: malformed ones refused without Redis, the others looked up in ONE coalesced
read (``get_access_many``), expiry checked per token, each active one counted as one API call.
"""

from __future__ import annotations

import time
from typing import Final

import msgspec

from services.token.calls import CallCounter
from services.token.metrics import TokenMetrics
from shared.grants.records import AccessTokenRecord
from shared.grants.storage import AccessTokenStore
from shared.messages.token import Introspection, VerifyManyReply, VerifyManyRequest, VerifyTokenRequest
from shared.service import Meta
from shared.tokens import Signer, parse

_INACTIVE: Final = Introspection(active=False)
INACTIVE: Final = msgspec.json.encode(_INACTIVE)
_decode_access = msgspec.json.Decoder(AccessTokenRecord).decode
_encode = msgspec.json.Encoder().encode


def introspection(record: AccessTokenRecord) -> Introspection:
    return Introspection(
        active=True,
        client_id=record.client_id,
        sub=record.user_id,
        scope=record.scope,
        exp=record.expires_at,
        iat=record.issued_at,
        token_type="Bearer",
    )


def _key_of(signer: Signer, token: str) -> tuple[str, str] | None:
    """The (family, signature) an access token's record is stored under; None when malformed."""
    parsed = parse(token, "at")
    return None if parsed is None else (parsed.family, signer.sign(token))


def _live(raw: bytes | None, now: float) -> AccessTokenRecord | None:
    """The stored record when there is one and it has not expired."""
    if raw is None:
        return None
    record = _decode_access(raw)
    return record if record.expires_at > now else None


async def active_access_record(
    store: AccessTokenStore, signer: Signer, token: str
) -> AccessTokenRecord | None:
    """The record of a live access token, or None (malformed, unknown, revoked or expired)."""
    key = _key_of(signer, token)
    if key is None:
        return None
    return _live(await store.get_access(*key), time.time())


async def active_access_records(
    store: AccessTokenStore, signer: Signer, tokens: list[str]
) -> list[AccessTokenRecord | None]:
    """``active_access_record`` of each token, in order, the well-formed ones read in one go."""
    found: list[AccessTokenRecord | None] = [None] * len(tokens)
    keyed = [(i, key) for i, token in enumerate(tokens) if (key := _key_of(signer, token)) is not None]
    if not keyed:
        return found
    raws = await store.get_access_many([key for _, key in keyed])
    now = time.time()
    for (i, _), raw in zip(keyed, raws, strict=True):
        found[i] = _live(raw, now)
    return found


class Verifier:
    """``metrics``: each token's answer counted in ``mavio_tokens_verified_total`` (both subjects)."""

    __slots__ = ("_active", "_calls", "_inactive", "_signer", "_store")

    def __init__(
        self, store: AccessTokenStore, signer: Signer, calls: CallCounter, metrics: TokenMetrics | None = None
    ) -> None:
        self._store = store
        self._signer = signer
        self._calls = calls
        metrics = metrics if metrics is not None else TokenMetrics()
        self._active = metrics.verified_active
        self._inactive = metrics.verified_inactive

    async def verify(self, req: VerifyTokenRequest, _meta: Meta) -> bytes:
        record = await active_access_record(self._store, self._signer, req.token)
        if record is None:
            self._inactive.inc()
            return INACTIVE
        self._active.inc()
        self._calls.add(record.client_id)
        return _encode(introspection(record))

    async def verify_many(self, req: VerifyManyRequest, _meta: Meta) -> bytes:
        answers: list[Introspection] = []
        active = 0
        for record in await active_access_records(self._store, self._signer, req.tokens):
            if record is None:
                answers.append(_INACTIVE)
            else:
                active += 1
                self._calls.add(record.client_id)
                answers.append(introspection(record))
        if active:
            self._active.inc(active)
        if active < len(answers):
            self._inactive.inc(len(answers) - active)
        return _encode(VerifyManyReply(answers=answers))
