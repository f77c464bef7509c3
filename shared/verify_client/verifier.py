"""The verifier: a token's RFC 7662 answer from the token service over the bus
(``mavio.oauth.v1.token.verify``, or many per message with ``token.verify_many``: ``batch``), malformed
tokens refused locally (shape and checksum), with an optional local cache evicted by revocation-kind
events; cache hits are reported back to the token service as API calls. The whole contract:
``shared.verify_client``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import msgspec
import structlog
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from shared import subjects
from shared.bus import Bus
from shared.errors import InvalidRequest, OAuthError
from shared.events import decode_event
from shared.messages import events as ev
from shared.messages.token import MAX_CALLS_PER_APP, Introspection, ReportCallsRequest, VerifyTokenRequest
from shared.metrics import CacheCounters
from shared.tasks import cancel_and_wait
from shared.tokens import parse
from shared.verify_client.batch import DEFAULT_MAX_BATCH, VerifyBatcher

log = structlog.get_logger("mavio.verify_client")

INACTIVE = Introspection(active=False)


class _Entry(msgspec.Struct, array_like=True):
    until: float  # time.monotonic() deadline
    family: str
    info: Introspection


class TokenVerifier:
    def __init__(
        self,
        nc: NATS,
        *,
        cache_ttl: float = 0.0,
        max_entries: int = 10_000,
        timeout: float = 2.0,
        report_interval: float = 1.0,
        report_max_apps: int = 1000,  # apps per calls report: at most the token service's setting
        counters: CacheCounters | None = None,  # hits and misses, with a cache (``shared.metrics``)
        batch: bool = True,  # misses of one event-loop turn in one ``token.verify_many`` message
        max_batch: int = DEFAULT_MAX_BATCH,  # tokens per message at most (``shared.verify_client.batch``)
    ) -> None:
        self._counters = counters
        self._nc = nc
        self._bus = Bus(nc, timeout=timeout)
        self._batcher = VerifyBatcher(self._bus, max_batch=max_batch) if batch else None
        self.cache_ttl = cache_ttl
        self._max_entries = max_entries
        self._report_interval = report_interval
        self._report_max_apps = report_max_apps
        self._cache: dict[str, _Entry] = {}
        self._by_family: dict[str, set[str]] = {}
        self._epoch = 0  # bumped by every eviction: a fetch that saw another epoch is not cached
        self._reconnects = 0
        self._hits: dict[str, int] = {}
        self._subs: list[Subscription] = []
        self._reporter: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Subscribe to the events that end or narrow a token (only needed with a cache): those of
        ``subjects.VERIFIER_EVENTS``, all a resource server's bus user may subscribe to."""
        if self.cache_ttl > 0 and not self._subs:
            self._reconnects = self._nc.stats["reconnects"]
            for subject in subjects.VERIFIER_EVENTS:
                self._subs.append(await self._nc.subscribe(subject, cb=self._on_event))
            await self._nc.flush()
            self._reporter = asyncio.create_task(self._report_loop(), name="mavio-verify-hits")

    async def close(self) -> None:
        if self._reporter is not None:
            await cancel_and_wait(self._reporter)
            await self._report_all()
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        self._subs = []
        self._reporter = None
        self.clear()

    async def verify(self, token: str) -> Introspection:
        """The token's RFC 7662 answer; raises ``TemporarilyUnavailable`` when the bus cannot answer."""
        hit = self._cached(token)  # first: a cached token was parsed when it was stored
        if self._counters is not None and self._subs:
            (self._counters.miss if hit is None else self._counters.hit).inc()
        if hit is not None:
            return hit
        parsed = parse(token, "at") if token else None
        if parsed is None:
            return INACTIVE
        epoch = self._epoch
        if self._batcher is None:
            info = await self._bus.request(
                subjects.TOKEN_VERIFY, VerifyTokenRequest(token=token), Introspection
            )
        else:
            info = await self._batcher.verify(token)
        if info.active and self._subs and epoch == self._epoch:
            self._store(token, parsed.family, info)
        return info

    # ---- the cache -------------------------------------------------------------------------------

    def _cached(self, token: str) -> Introspection | None:
        if not self._cache:
            return None
        if not self._nc.is_connected or self._nc.stats["reconnects"] != self._reconnects:
            self._reconnects = self._nc.stats["reconnects"]
            self.clear()
            return None
        entry = self._cache.get(token)
        if entry is None:
            return None
        if entry.until <= time.monotonic():
            self._drop(token)
            return None
        client_id = entry.info.client_id or ""
        self._hits[client_id] = self._hits.get(client_id, 0) + 1
        return entry.info

    def _store(self, token: str, family: str, info: Introspection) -> None:
        ttl = min(self.cache_ttl, (info.exp or 0) - time.time())
        if ttl <= 0:
            return
        if len(self._cache) >= self._max_entries:
            self._drop(next(iter(self._cache)))
        self._cache[token] = _Entry(time.monotonic() + ttl, family, info)
        self._by_family.setdefault(family, set()).add(token)

    def _drop(self, token: str) -> None:
        entry = self._cache.pop(token, None)
        if entry is not None:
            tokens = self._by_family.get(entry.family)
            if tokens is not None:
                tokens.discard(token)
                if not tokens:
                    del self._by_family[entry.family]

    def evict_families(self, families: list[str]) -> None:
        self._epoch += 1
        for family in families:
            for token in self._by_family.pop(family, ()):
                self._cache.pop(token, None)

    def evict_client(self, client_id: str) -> None:
        self._epoch += 1
        for token in [t for t, e in self._cache.items() if e.info.client_id == client_id]:
            self._drop(token)

    def clear(self) -> None:
        self._epoch += 1
        self._cache.clear()
        self._by_family.clear()

    def __len__(self) -> int:
        return len(self._cache)

    async def _on_event(self, msg: Msg) -> None:
        try:
            event = decode_event(msg.data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            self.clear()  # an event we cannot read might be a revocation: be safe
            return
        match event:
            case ev.TokensRevoked(families=families) | ev.ScopesNarrowed(families=families):
                self.evict_families(families)
            case (
                ev.RefreshReused(family=family)
                | ev.CodeReused(family=family)
                | ev.GrantExpired(family=family)
            ):
                self.evict_families([family])
            case ev.AppDeleted(client_id=client_id):
                self.evict_client(client_id)

    # ---- reporting cache hits as API calls ---------------------------------------------------------

    async def _report_loop(self) -> None:
        while True:
            await asyncio.sleep(self._report_interval)
            await self._report_all()

    async def _report_all(self) -> None:
        """As many reports as the hits so far need, until one cannot be sent."""
        while self._hits and await self._report_hits():
            pass

    async def _report_hits(self) -> bool:
        """Send one report of the hits so far: at most ``report_max_apps`` apps and
        ``MAX_CALLS_PER_APP`` calls each (the token service refuses more); the rest waits for the next
        report, as do all of them when the bus cannot take it. False when nothing was sent."""
        hits, self._hits = self._hits, {}
        report: dict[str, int] = {}
        for client_id, n in hits.items():
            if len(report) < self._report_max_apps:
                report[client_id] = min(n, MAX_CALLS_PER_APP)
            self._keep(client_id, n - report.get(client_id, 0))
        if not report:
            return False
        try:
            await self._bus.request(subjects.TOKEN_CALLS, ReportCallsRequest(calls=report), dict)
        except InvalidRequest as exc:  # sending it again would be refused again
            log.warning("cached calls report refused", error=exc.description, apps=len(report))
        except OAuthError:
            for client_id, n in report.items():
                self._keep(client_id, n)
            return False
        return True

    def _keep(self, client_id: str, n: int) -> None:
        if n > 0:
            self._hits[client_id] = self._hits.get(client_id, 0) + n
