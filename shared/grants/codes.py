"""Authorization codes (RFC 6749 §4.1.2): issued by authorize, consumed once by token, and the app's
index of codes not exchanged yet, through which revocations reach a code's family."""

from __future__ import annotations

from typing import Any

import msgspec

from shared.errors import ServerError
from shared.grants import keys
from shared.grants.base import GrantStoreBase, text
from shared.grants.family import family_keys, revoked_of
from shared.grants.records import CodeRecord
from shared.grants.scripts import script
from shared.grants.storage import REFUSALS, CodeTaken, Issued, Redemption, Refused, Reused

_CODE_EXCHANGE = script("code_exchange")
_decode_code = msgspec.json.Decoder(CodeRecord).decode
_CODE_SINGLE_USE = script("code_single_use")

_USER_KEYS = (*keys.around_user(keys.user_families), *keys.around_user(keys.user_grants))
_ISSUED = b"issued\n"


class RedisCodes(GrantStoreBase):
    async def save_code(self, signature: str, record: CodeRecord, ttl: int) -> None:
        # Index the family first (the app's slot) so a revocation that sees the index tombstones the
        # family before or after the code lands; entries older than a minute past expiry are trimmed.
        pending = keys.app_pending_codes(record.client_id)
        await self._redis.zadd(
            pending, {keys.pending_code_member(record.user_id, record.family): record.expires_at}
        )
        await self._redis.zremrangebyscore(pending, "-inf", record.issued_at - 60)
        await self._redis.set(keys.code_scope(record.family), record.scope, ex=ttl)
        key = keys.code(record.family, signature)
        if not await self._redis.set(key, msgspec.json.encode(record), ex=ttl, nx=True):
            raise ServerError("could not issue an authorization code", debug="code key already existed")

    async def consume(
        self, family: str, signature: str, *, client_id: str, now: int
    ) -> CodeTaken | Reused | Refused:
        script_keys = [keys.code(family, signature), *family_keys(family), keys.code_scope(family)]
        args = [now, self._hold_ttl, self._hold_ttl, client_id]
        return taken_or_refused(family, await self._run(_CODE_SINGLE_USE, script_keys, args))

    async def redeem(
        self, family: str, signature: str, redemption: Redemption, *, now: int
    ) -> Issued | CodeTaken | Reused | Refused:
        if self._cluster:  # a Redis Cluster: no one script reaches the app's and user's slots
            return await self.consume(family, signature, client_id=redemption.client_id, now=now)
        client = redemption.client_id
        script_keys = [
            keys.code(family, signature),
            *family_keys(family),
            keys.code_scope(family),
            keys.app_families(client),
            keys.app_grant_users(client),
            keys.expiry_queue(),
            keys.access_token(family, redemption.access_sig),
            keys.refresh_token(family, redemption.refresh_sig),
        ]
        args = [
            now,
            self._hold_ttl,
            self._hold_ttl,
            client,
            redemption.redirect_uri,
            redemption.challenge,
            self._access_ttl,
            self._refresh_ttl,
            *_USER_KEYS,
            keys.expiry_member(client, family, ""),  # the user id comes last
        ]
        out = await self._run(_CODE_EXCHANGE, script_keys, args)
        if isinstance(out, bytes) and out.startswith(_ISSUED):
            record = out[len(_ISSUED) :]
            return Issued(_decode_code(record).scope, record)
        return taken_or_refused(family, out)

    async def pending(self, client_id: str) -> list[str]:
        return [text(p) for p in await self._redis.zrange(keys.app_pending_codes(client_id), 0, -1)]

    async def code_scope(self, family: str) -> str | None:
        raw = await self._redis.get(keys.code_scope(family))
        return None if raw is None else text(raw)

    async def forget_pending(self, client_id: str, members: list[str]) -> None:
        if members:
            await self._redis.zrem(keys.app_pending_codes(client_id), *members)


def taken_or_refused(family: str, out: Any) -> CodeTaken | Reused | Refused:
    """``code_single_use``'s reply: the record (a plain string), or an array naming the outcome."""
    if isinstance(out, bytes):
        return CodeTaken(out)
    match out[0]:
        case b"reused":
            return Reused(revoked_of(family, out[1:]))
    return REFUSALS[out[0]]
