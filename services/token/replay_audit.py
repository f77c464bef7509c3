"""Every refresh replay within the window is audited (RFC 9700 §4.14.2 allows the window; issue 22).

A rotated refresh token presented again within ``MAVIO_REFRESH_REPLAY_WINDOW`` gets the successor pair
back only when it asks for the scope the rotation issued; a replay asking for another scope gets
``invalid_grant`` and revokes nothing. Both are published as ``RefreshReplayed`` (live, and to the app's
audit trail through ``shared.events.publish_event``): ``suspicious`` for the refused one. Never a
token: the family id, the client and the scopes; the requested scope cut at ``AUDITED_SCOPE_MAX``
characters (the client chooses it).

The event is published in the background, never before the answer: a replay is how a client recovers
an answer lost in a bus fault, and in that very fault the audit stream may take seconds to acknowledge
(a NATS node down); waiting for it would turn the rescue into a 503. ``drain`` waits for what is
still being published when the service stops.
"""

from __future__ import annotations

import asyncio
import time

import structlog
from prometheus_client import Counter

from services.token.metrics import TokenMetrics
from services.token.reuse import Publish
from shared.grants.storage import Rotation
from shared.messages import events as ev

log = structlog.get_logger("mavio.token")

# The longest ``requested`` scope a record keeps (the whole catalog, written out, is about 110
# characters); a longer one is cut and ends with ``CUT``. The audit stream is shared by every app and
# drops its oldest records when full: a client must not be able to write 4 KB records (the form allows
# a 4 KB scope of made-up names) at will.
AUDITED_SCOPE_MAX = 256
CUT = "..."


def audited_scope(requested: str) -> str:
    """``requested`` as recorded: at most ``AUDITED_SCOPE_MAX`` characters, then ``CUT`` if cut."""
    return requested if len(requested) <= AUDITED_SCOPE_MAX else requested[:AUDITED_SCOPE_MAX] + CUT


class ReplayAuditor:
    def __init__(self, publish: Publish, metrics: TokenMetrics | None = None) -> None:
        self._publish = publish
        self._refused: Counter = (metrics if metrics is not None else TokenMetrics()).replays_refused
        self._publishing: set[asyncio.Task[None]] = set()
        self._last: asyncio.Task[None] | None = None

    async def replayed(self, rotation: Rotation, *, user_id: str, issued: str, suspicious: bool) -> None:
        """Publish one replay of ``rotation``'s presented token: ``issued`` the scope the rotation
        issued, ``rotation.scope`` the replay's own ("" = the token's scope); ``suspicious`` when the
        two differ and the replay was refused."""
        family, requested = rotation.family, audited_scope(rotation.scope)
        if suspicious:
            self._refused.inc()
            log.warning("refresh replay asked for another scope: refused", family=family, requested=requested)
        else:
            log.info("refresh replayed within the window", family=family)
        event = ev.RefreshReplayed(
            at=time.time(),
            client_id=rotation.client_id,
            actor=ev.CLIENT,
            family=family,
            user_id=user_id,
            scope=issued,
            requested=requested,
            suspicious=suspicious,
        )
        task = asyncio.create_task(self._after(self._last, event))
        self._last = task
        self._publishing.add(task)
        task.add_done_callback(self._publishing.discard)

    async def _after(self, previous: asyncio.Task[None] | None, event: ev.RefreshReplayed) -> None:
        """Publish ``event`` once the one before it is out, so the trail keeps the replays' order."""
        if previous is not None and not previous.done():
            await asyncio.wait({previous})
        await self._publish(event)

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait (at most ``timeout`` seconds) for the replay events still being published."""
        if self._publishing:
            await asyncio.wait(set(self._publishing), timeout=timeout)
