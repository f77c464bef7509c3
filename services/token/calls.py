"""API-call statistics without a write on the verification path.

Each active verification adds one to an in-memory count per client; a background task flushes the
counts (one pipelined INCRBY per client for the total and for the UTC day) shortly after they arrive,
so under load many verifications share one Redis round trip and the reply never waits for it.
Counts that fail to flush are kept and retried; ``close`` flushes what is left (graceful drain).
"""

from __future__ import annotations

import asyncio
import time

import structlog

from shared.errors import InvalidRequest
from shared.grants.storage import CallStats
from shared.messages.token import MAX_CALLS_PER_APP
from shared.tasks import cancel_and_wait

log = structlog.get_logger("mavio.token")


def utc_day(now: float) -> str:
    return time.strftime("%Y%m%d", time.gmtime(now))


def check_report(calls: dict[str, int], *, max_apps: int) -> dict[str, int]:
    """A resource server's ``token.calls`` report, refused whole when it names more than ``max_apps``
    apps or counts one outside 1 to ``MAX_CALLS_PER_APP``: a report cannot set an app's statistics."""
    if len(calls) > max_apps:
        raise InvalidRequest(f"a calls report names at most {max_apps} apps", debug=f"{len(calls)} named")
    for n in calls.values():
        if not 1 <= n <= MAX_CALLS_PER_APP:
            raise InvalidRequest(
                f"a calls report counts 1 to {MAX_CALLS_PER_APP} calls per app", debug=str(n)
            )
    return calls


class CallCounter:
    def __init__(self, stats: CallStats, *, interval: float = 0.05) -> None:
        self._stats = stats
        self._interval = interval
        self._counts: dict[str, int] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def add(self, client_id: str, n: int = 1) -> None:
        """Count ``n`` calls of ``client_id`` (no I/O, no await: safe on the hot path)."""
        counts = self._counts
        counts[client_id] = counts.get(client_id, 0) + n
        if not self._wake.is_set():
            self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="mavio-call-counter")

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(self._interval)  # let a burst accumulate into one flush
            self._wake.clear()
            if not await self.flush():
                await asyncio.sleep(1.0)  # storage trouble: back off, keep the counts

    async def flush(self) -> bool:
        counts, self._counts = self._counts, {}
        if not counts:
            return True
        try:
            await self._stats.add_calls(counts, day=utc_day(time.time()))
        except Exception as exc:
            for client_id, n in counts.items():
                self._counts[client_id] = self._counts.get(client_id, 0) + n
            self._wake.set()
            log.warning("api-call counts not flushed yet", debug=repr(exc), clients=len(counts))
            return False
        return True

    async def close(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
        await self.flush()
