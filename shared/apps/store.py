"""Apps in Redis: the only module of the registry that reads or writes app keys.

Contract:
- ``keys.app(id)`` holds the JSON ``AppRecord`` (secret hashes, never a secret) and ``keys.app_logo(id)``
  the normalised PNG; both share the app's hash slot and are written in one MULTI.
- The owner index ``keys.user_apps(owner)`` and ``keys.apps_all()`` live in other slots and are
  updated after the record (listings skip ids whose record is gone).
- Stats (active authorizations, API calls) belong to the grant family: read through
  ``shared.grants.calls.GrantStats``; the revocation service drops them when it reacts to ``app.deleted``.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import msgspec

from shared import keys
from shared.apps.records import AppRecord
from shared.grants.calls import GrantStats
from shared.messages.registry import AppStats
from shared.store import Redis

_decode = msgspec.json.Decoder(AppRecord)
_encode = msgspec.json.Encoder()


class AppStore(Protocol):
    async def insert(self, record: AppRecord, logo: bytes | None) -> bool:
        """Store a new app (and its logo); False when the client id exists already."""

    async def get(self, client_id: str) -> AppRecord | None: ...

    async def save(self, record: AppRecord, *, logo: bytes | None = None, drop_logo: bool = False) -> None:
        """Overwrite an existing app's record, optionally replacing or dropping its logo."""

    async def delete(self, record: AppRecord) -> None: ...

    async def owned_by(self, user_id: str) -> list[AppRecord]: ...

    async def all(self) -> list[AppRecord]: ...

    async def logo(self, client_id: str) -> bytes | None: ...

    async def stats(self, client_id: str, days: list[dt.date]) -> AppStats: ...


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisAppStore:
    def __init__(self, redis: Redis, *, code_ttl: int = 0) -> None:
        """``code_ttl``: MAVIO_CODE_TTL, for the stats (``GrantStats``); only the registry reads them."""
        self._redis = redis
        self._stats = GrantStats(redis, code_ttl=code_ttl)

    async def insert(self, record: AppRecord, logo: bytes | None) -> bool:
        cid = record.client_id
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(keys.app(cid), _encode.encode(record), nx=True)
            if logo is not None:
                pipe.set(keys.app_logo(cid), logo)
            created, *_ = await pipe.execute()
        if not created:
            return False
        await self._redis.sadd(keys.user_apps(record.owner_id), cid)
        await self._redis.sadd(keys.apps_all(), cid)
        return True

    async def get(self, client_id: str) -> AppRecord | None:
        raw = await self._redis.get(keys.app(client_id))
        return None if raw is None else _decode.decode(raw)

    async def save(self, record: AppRecord, *, logo: bytes | None = None, drop_logo: bool = False) -> None:
        cid = record.client_id
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(keys.app(cid), _encode.encode(record), xx=True)
            if logo is not None:
                pipe.set(keys.app_logo(cid), logo)
            elif drop_logo:
                pipe.delete(keys.app_logo(cid))
            await pipe.execute()

    async def delete(self, record: AppRecord) -> None:
        cid = record.client_id
        await self._redis.delete(keys.app(cid), keys.app_logo(cid))
        await self._redis.srem(keys.user_apps(record.owner_id), cid)
        await self._redis.srem(keys.apps_all(), cid)

    async def owned_by(self, user_id: str) -> list[AppRecord]:
        return await self._load(await self._redis.smembers(keys.user_apps(user_id)))

    async def all(self) -> list[AppRecord]:
        return await self._load(await self._redis.smembers(keys.apps_all()))

    async def _load(self, ids: set[bytes]) -> list[AppRecord]:
        records = [await self.get(_text(cid)) for cid in ids]
        found = [r for r in records if r is not None]
        return sorted(found, key=lambda r: (r.created_at, r.client_id))

    async def logo(self, client_id: str) -> bytes | None:
        data: bytes | None = await self._redis.get(keys.app_logo(client_id))
        return data

    async def stats(self, client_id: str, days: list[dt.date]) -> AppStats:
        return await self._stats.app_stats(client_id, days)
