"""Apps in Redis: the only module of the registry that reads or writes app keys.

Contract:
- ``keys.app(id)`` holds the JSON ``AppRecord`` (secret hashes, never a secret) and ``keys.app_logo(id)``
  the normalised PNG; both share the app's hash slot and are written in one MULTI.
- The owner index ``keys.user_apps(owner)`` and ``keys.apps_all()`` live in other slots and are
  updated after the record (listings skip ids whose record is gone).
- The secret index (``shared.apps.secret_index``: secret HMAC -> client id, for current, previous and
  leaked hashes) is updated after the record too; ``by_secret`` checks the record, ``index_secrets``
  fills it for apps made before it existed (the registry runs it at start).
- ``replace`` is a compare-and-set of the record (``lua/app_record_swap.lua``): a change made once
  however many callers try it at the same time.
- Stats (active authorizations, API calls) belong to the grant family: read through
  ``shared.grants.calls.GrantStats``; the revocation service drops them when it reacts to ``app.deleted``.
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Callable
from typing import Protocol

import msgspec

from shared import keys
from shared.apps.records import AppRecord
from shared.apps.secret_index import SecretIndex, hashes
from shared.grants.calls import GrantStats
from shared.messages.registry import AppStats
from shared.script_runner import LuaScript, ScriptRunner
from shared.store import Redis

_decode = msgspec.json.Decoder(AppRecord)
_encode = msgspec.json.Encoder()
_SWAP = LuaScript.load("shared.apps", "app_record_swap")
SWAP_ATTEMPTS = 5


class AppStore(Protocol):
    async def insert(self, record: AppRecord, logo: bytes | None) -> bool:
        """Store a new app (and its logo); False when the client id exists already."""

    async def get(self, client_id: str) -> AppRecord | None: ...

    async def save(self, record: AppRecord, *, logo: bytes | None = None, drop_logo: bool = False) -> None:
        """Overwrite an existing app's record, optionally replacing or dropping its logo."""

    async def delete(self, record: AppRecord) -> None: ...

    async def replace(
        self, client_id: str, change: Callable[[AppRecord], AppRecord | None]
    ) -> AppRecord | None:
        """Apply ``change`` to the stored record atomically (compare and set, read again on a race);
        the new record, or None when there is no record or ``change`` returned None (nothing to do)."""

    async def by_secret(self, signature: str) -> AppRecord | None:
        """The app holding the secret hash ``signature`` (current, previous or leaked), via the index."""

    async def index_secrets(self) -> int:
        """Index every app's secret hashes (apps made before the index); returns the apps indexed."""

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
        self._index = SecretIndex(redis)
        self._scripts = ScriptRunner(redis)
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
        await self._index.update(None, record)
        return True

    async def get(self, client_id: str) -> AppRecord | None:
        raw = await self._redis.get(keys.app(client_id))
        return None if raw is None else _decode.decode(raw)

    async def save(self, record: AppRecord, *, logo: bytes | None = None, drop_logo: bool = False) -> None:
        cid = record.client_id
        old = await self.get(cid)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(keys.app(cid), _encode.encode(record), xx=True)
            if logo is not None:
                pipe.set(keys.app_logo(cid), logo)
            elif drop_logo:
                pipe.delete(keys.app_logo(cid))
            saved, *_ = await pipe.execute()
        if saved:
            await self._index.update(old, record)

    async def delete(self, record: AppRecord) -> None:
        cid = record.client_id
        stored = await self.get(cid)  # the newest hashes, as well as the caller's copy's
        await self._redis.delete(keys.app(cid), keys.app_logo(cid))
        await self._redis.srem(keys.user_apps(record.owner_id), cid)
        await self._redis.srem(keys.apps_all(), cid)
        await self._index.update(record, None)
        await self._index.update(stored, None)

    async def replace(
        self, client_id: str, change: Callable[[AppRecord], AppRecord | None]
    ) -> AppRecord | None:
        for _ in range(SWAP_ATTEMPTS):
            raw = await self._redis.get(keys.app(client_id))
            old = None if raw is None else _decode.decode(raw)
            new = None if old is None else change(old)
            if old is None or new is None:
                return None
            if await self._scripts.run(_SWAP, [keys.app(client_id)], [raw, _encode.encode(new)]):
                await self._index.update(old, new)
                return new
        raise RuntimeError(f"app {client_id}: the record kept changing during {SWAP_ATTEMPTS} attempts")

    async def by_secret(self, signature: str) -> AppRecord | None:
        cid = await self._index.client_id(signature)
        record = None if cid is None else await self.get(cid)
        if record is None or not any(hmac.compare_digest(signature, h) for h in hashes(record)):
            return None
        return record

    async def index_secrets(self) -> int:
        records = await self.all()
        for record in records:
            await self._index.update(None, record)
        return len(records)

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
