"""Client authentication (RFC 6749 §2.3.1) without a bus hop per request: app records cached briefly.

The token service authenticates a client on every refresh and code exchange. Instead of asking the
registry each time, it reads the app's record (secret HMACs only, never a secret) from Redis and keeps it
for ``MAVIO_APP_CACHE_TTL`` seconds; ``secret.regenerated``, ``app.changed`` and ``app.deleted`` drop it
at once (``AppViewCache.watch``), and a fetch that overlapped an eviction is not stored. An unknown
client is never cached: it costs a Redis read and the same two constant-time comparisons as a known one.
"""

from __future__ import annotations

import time

from nats.aio.client import Client as NATS
from nats.aio.subscription import Subscription

from shared.apps.records import AppRecord
from shared.apps.secrets import client_authenticated
from shared.apps.store import AppStore
from shared.errors import InvalidClient
from shared.messages.registry import AppView
from shared.metrics import CacheCounters
from shared.registry_client import AppViewCache
from shared.tokens import Signer


class CachedClientVerifier:
    """A ``shared.client_auth.ClientVerifier`` reading app records itself (read-only: the registry
    remains their one writer)."""

    def __init__(
        self, apps: AppStore, signer: Signer, *, cache_ttl: float, counters: CacheCounters | None = None
    ) -> None:
        self._apps = apps
        self._signer = signer
        self._counters = counters
        self.cache: AppViewCache[AppRecord] = AppViewCache(cache_ttl)
        # client_id -> (record, its view): a view made once per record object the cache hands out
        self._views: dict[str, tuple[AppRecord, AppView]] = {}

    async def watch(self, nc: NATS) -> list[Subscription]:
        return await self.cache.watch(nc)

    async def verify_client(
        self, client_id: str, client_secret: str, *, request_id: str | None = None
    ) -> AppView:
        record = await self._record(client_id)
        if not client_authenticated(record, client_secret, self._signer, now=time.time()):
            raise InvalidClient("client authentication failed")
        assert record is not None
        return self._view(record)

    def _view(self, record: AppRecord) -> AppView:
        """``record.view()``, made again only for another record object (a fetched or changed one)."""
        made = self._views.get(record.client_id)
        if made is not None and made[0] is record:
            return made[1]
        view = record.view()
        if len(self._views) >= self.cache.max_entries:
            self._views.clear()
        self._views[record.client_id] = (record, view)
        return view

    async def app(self, client_id: str) -> AppRecord | None:
        """The app's record (cached), without authenticating anyone: for what a request already
        authenticated needs of it (its ID token algorithm)."""
        return await self._record(client_id)

    async def _record(self, client_id: str) -> AppRecord | None:
        cached = self.cache.get(client_id)
        counters = self._counters
        if cached is not None:
            if counters is not None:
                counters.hit.inc()
            return cached
        if counters is not None:
            counters.miss.inc()
        seen = self.cache.evictions
        record = await self._apps.get(client_id)
        if record is not None:
            self.cache.put(record, seen_evictions=seen)
        return record
