"""The TTL sweeper: keeps everything derived from token keys true once Redis has expired the keys.

Every ``MAVIO_SWEEP_INTERVAL`` seconds, the replica holding the sweeper lease (``lease.Lease``; its TTL
is a small multiple of the interval, so a killed holder is replaced within a few intervals; it is
renewed in the background during a pass, and a pass stops once it is lost) walks the due part of
``grant_keys.expiry_queue`` in batches of ``domain.BATCH``, each in small pipelines, yielding to the event
loop between them. For each due family:

- a refresh token still alive (work-list scores are whole seconds, token TTLs are not; or a refresh
  slid the expiry): rescheduled to the millisecond that token expires;
- otherwise ``GrantExpired`` is published live (caches evict; expiry is routine, so it is not written
  to the audit stream: ``shared.events.LIVE_ONLY``), the family is
  uncounted (``remove_family``: app, user and work-list indexes), and the user's grant is dropped when
  it was the user's last family of the app (and no newer authorization may still be exchanging its
  code).

A family leaves the work list only when it is uncounted, after its event, so a sweeper that dies
mid-batch leaves the rest for the next holder: every step is idempotent, and an event may be
published twice after a crash; it is not re-sent to a subscriber that was away at the time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import structlog

from services.revocation.batching import gather_bounded
from services.revocation.domain import BATCH, unique
from services.revocation.lease import Lease
from services.revocation.metrics import SweeperMetrics
from services.revocation.publisher import Publish
from shared.grants.sweep import DueFamily, SweepStore, parse_expiry_member
from shared.messages import events as ev
from shared.tasks import cancel_and_wait

log = structlog.get_logger("mavio.sweeper")

PUBLISH_LIMIT = 64  # events awaiting their audit-stream acknowledgement at once


class Sweeper:
    def __init__(
        self,
        store: SweepStore,
        lease: Lease,
        publish: Publish,
        *,
        interval: float,
        code_ttl: int,
        batch: int = BATCH,
        clock: Callable[[], float] = time.time,
        active: Callable[[], bool] = lambda: True,
        metrics: SweeperMetrics | None = None,
    ) -> None:
        self._metrics = metrics
        self._store = store
        self.lease = lease
        self._publish = publish
        self.interval = interval
        self._code_ttl = code_ttl
        self._batch = batch
        self._clock = clock
        self._active = active  # False once the service drains: no new batch is started
        self._task: asyncio.Task[None] | None = None
        # Checked at every step as well as cancelling the task: a cancellation can be swallowed
        # inside a client library (nats-py's publish path does), and the sweeper must stop anyway.
        self._stopping = False
        self.swept = 0  # families uncounted by this sweeper (diagnostics, tests)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="mavio-sweeper")

    async def close(self) -> None:
        """Stop sweeping and hand the lease over at once (a graceful stop)."""
        await self.kill()
        with contextlib.suppress(Exception):
            await self.lease.release()

    async def kill(self) -> None:
        """Stop without releasing the lease, as a crash would (the lease then expires by itself)."""
        self._stopping = True
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None

    async def run(self) -> None:
        while not self._stopping:
            started = time.monotonic()
            try:
                await self.sweep_once()
            except Exception as exc:  # Redis or NATS away: try again next interval
                log.warning("sweep failed", debug=repr(exc))
            await self.measure()
            await asyncio.sleep(max(0.0, self.interval - (time.monotonic() - started)))

    async def sweep_once(self) -> int:
        """One pass while holding the lease; returns the number of families uncounted."""
        if self._stopping or not self._active() or not await self.lease.acquire():
            return 0
        lost = asyncio.Event()
        heartbeat = asyncio.create_task(self._keep_lease(lost), name="mavio-sweeper-lease")
        done = 0
        previous: list[str] = []
        try:
            while not lost.is_set() and self._active() and not self._stopping:
                due = await self._store.due(self._clock(), self._batch)
                if not due or due == previous:  # nothing due, or no progress (never spin)
                    break
                done += await self._sweep_batch(due)
                previous = due
                await asyncio.sleep(0)
        finally:
            await cancel_and_wait(heartbeat)
        if lost.is_set():
            log.warning("sweeper lease lost mid-sweep; this pass stopped")
        if done:
            log.info("swept expired families", families=done)
        return done

    async def measure(self) -> None:
        """Set the lag and backlog gauges from the work list (every replica, after each pass)."""
        if self._metrics is None or self._stopping:
            return
        now = self._clock()
        try:
            due, oldest = await self._store.backlog(now)
        except Exception as exc:  # Redis away: the gauges keep their last values
            log.warning("sweeper backlog not measured", debug=repr(exc))
            return
        self._metrics.backlog.set(due)
        self._metrics.lag.set(0.0 if oldest is None else max(0.0, now - oldest))

    async def _keep_lease(self, lost: asyncio.Event) -> None:
        """Renew the lease three times per lease time while a pass runs; flag it when it was lost."""
        while not self._stopping:
            await asyncio.sleep(self.lease.ttl_ms / 3000)
            if self._stopping:  # a stopped (or killed) sweeper never renews again
                return
            try:
                held = await self.lease.renew()
            except Exception as exc:
                log.warning("sweeper lease not renewed", debug=repr(exc))
                held = False
            if not held:
                lost.set()
                return

    async def _sweep_batch(self, members: list[str]) -> int:
        entries = [e for e in map(parse_expiry_member, members) if e is not None]
        if len(entries) < len(members):
            malformed = [m for m in members if parse_expiry_member(m) is None]
            log.warning("malformed work-list members dropped", count=len(malformed))
            await self._store.discard(malformed)
        left = await self._store.refresh_left_ms([e.family for e in entries])
        now_ms = int(self._clock() * 1000)
        # due again the very millisecond its refresh token expires (the work list scores are seconds)
        live = {e.member: (now_ms + ms) / 1000 for e, ms in zip(entries, left, strict=True) if ms > 0}
        await self._store.reschedule(live)
        expired = [e for e in entries if e.member not in live]
        await gather_bounded(expired, self._announce, limit=PUBLISH_LIMIT)
        await self._store.uncount(expired)
        self.swept += len(expired)
        if self._metrics is not None:
            self._metrics.swept.inc(len(expired))
        await self._drop_idle_grants(expired)
        return len(expired)

    async def _drop_idle_grants(self, expired: list[DueFamily]) -> None:
        pairs = unique((e.client_id, e.user_id) for e in expired)
        counted = await self._store.counted(pairs)
        idle = [p for p, still in zip(pairs, counted, strict=True) if not still]
        if idle:
            await self._store.drop_idle_grants(idle, cutoff=int(self._clock()) - self._code_ttl)

    async def _announce(self, entry: DueFamily) -> None:
        await self._publish(
            ev.GrantExpired(
                at=self._clock(), client_id=entry.client_id, family=entry.family, user_id=entry.user_id
            )
        )
