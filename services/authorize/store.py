"""The only module of the authorize service that talks to Redis: codes and grants.

Contracts (see ``shared.records``, ``shared.keys``):
- a code is stored under ``keys.code(family, signature)``, value and TTL in one ``SET ... EX`` (atomic),
  never overwriting; the raw code is never stored. The token service consumes it atomically. Its family
  is indexed first in ``keys.app_pending_codes`` (for the revocation service's cascades).
- a grant is field ``client_id`` of the hash ``keys.user_grants(user_id)``, written at consent.
"""

from __future__ import annotations

from typing import Protocol

import msgspec
import structlog

from shared import keys
from shared.errors import ServerError
from shared.records import CodeRecord, GrantRecord
from shared.store import Redis

log = structlog.get_logger("mavio.authorize.store")

_grant_decoder = msgspec.json.Decoder(GrantRecord)


class AuthorizeStore(Protocol):
    async def save_code(self, signature: str, record: CodeRecord, ttl: int) -> None:
        """Store ``record`` under the code's signature for ``ttl`` seconds; never overwrite."""
        ...

    async def get_grant(self, user_id: str, client_id: str) -> GrantRecord | None:
        """The user's current grant to the app, or None (an unreadable record counts as none)."""
        ...

    async def save_grant(self, user_id: str, grant: GrantRecord) -> None:
        """Record or replace the user's grant to ``grant.client_id``."""
        ...


class RedisAuthorizeStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def save_code(self, signature: str, record: CodeRecord, ttl: int) -> None:
        key = keys.code(record.family, signature)
        # Index the family first (the app's slot) so a revocation that sees the index tombstones the
        # family before or after the code lands; entries older than a minute past expiry are trimmed.
        pending = keys.app_pending_codes(record.client_id)
        await self._redis.zadd(
            pending, {keys.pending_code_member(record.user_id, record.family): record.expires_at}
        )
        await self._redis.zremrangebyscore(pending, "-inf", record.issued_at - 60)
        stored = await self._redis.set(key, msgspec.json.encode(record), ex=ttl, nx=True)
        if not stored:
            raise ServerError("could not issue an authorization code", debug="code key already existed")

    async def get_grant(self, user_id: str, client_id: str) -> GrantRecord | None:
        raw = await self._redis.hget(keys.user_grants(user_id), client_id)
        if raw is None:
            return None
        try:
            return _grant_decoder.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("unreadable grant record replaced", client_id=client_id, debug=str(exc))
            return None

    async def save_grant(self, user_id: str, grant: GrantRecord) -> None:
        await self._redis.hset(keys.user_grants(user_id), grant.client_id, msgspec.json.encode(grant))
