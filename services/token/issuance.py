"""Minting a token pair and shaping the access token response (RFC 6749 §5.1; pure, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from services.token import replay
from shared.grants.records import AccessTokenRecord, RefreshTokenRecord
from shared.messages.token import ExchangeTokenReply
from shared.tokens import Signer, mint_access_and_refresh

_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class MintedPair:
    """A fresh access/refresh pair of one family and the signatures the store keys them by."""

    access_token: str
    refresh_token: str
    access_sig: str
    refresh_sig: str


class SealedPair(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """What the replay window keeps, encrypted: the successor pair and the access token's expiry."""

    access_token: str
    refresh_token: str
    expires_at: int


_sealed_decoder = msgspec.msgpack.Decoder(SealedPair)
_sealed_encoder = msgspec.msgpack.Encoder()


def mint_pair(family: str, signer: Signer) -> MintedPair:
    access, refresh = mint_access_and_refresh(family)
    return MintedPair(access, refresh, signer.sign(access), signer.sign(refresh))


def token_reply(pair: MintedPair | SealedPair, *, scope: str, expires_in: int) -> ExchangeTokenReply:
    return ExchangeTokenReply(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=max(0, expires_in),
        scope=scope,
    )


def first_records(
    pair: MintedPair,
    *,
    family: str,
    client_id: str,
    user_id: str,
    scope: str,
    now: int,
    access_ttl: int,
    refresh_ttl: int,
) -> tuple[bytes, bytes]:
    """The JSON records (access, refresh) of a family's first pair."""
    access = AccessTokenRecord(
        family=family,
        client_id=client_id,
        user_id=user_id,
        scope=scope,
        issued_at=now,
        expires_at=now + access_ttl,
    )
    refresh = RefreshTokenRecord(
        family=family,
        client_id=client_id,
        user_id=user_id,
        scope=scope,
        issued_at=now,
        expires_at=now + refresh_ttl,
    )
    return _encode(access), _encode(refresh)


def seal_successor(presented: str, presented_sig: str, pair: MintedPair, *, expires_at: int) -> bytes:
    """The successor pair encrypted under a key only the holder of ``presented`` can derive."""
    plain = _sealed_encoder.encode(
        SealedPair(access_token=pair.access_token, refresh_token=pair.refresh_token, expires_at=expires_at)
    )
    return replay.seal(presented, plain, context=presented_sig.encode("ascii"))


def open_successor(presented: str, presented_sig: str, sealed: bytes) -> SealedPair | None:
    plain = replay.open_sealed(presented, sealed, context=presented_sig.encode("ascii"))
    return None if plain is None else _sealed_decoder.decode(plain)
