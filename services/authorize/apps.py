"""A short-lived, per-process cache of app views, dropped at once on app events.

Entries live ``MAVIO_APP_CACHE_TTL`` seconds (0 disables the cache); app-changed, app-deleted and
secret-regenerated events evict the app in every replica (plain subscription, no queue group).
The decision step asks with ``fresh=True``: a code is only issued against the registry's current view.
Unknown apps are never cached.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import msgspec
import structlog
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from shared import subjects
from shared.messages.registry import AppView
from shared.registry_client import RegistryClient

log = structlog.get_logger("mavio.authorize.apps")

APP_EVENTS = (subjects.EVENT_APP_CHANGED, subjects.EVENT_APP_DELETED, subjects.EVENT_SECRET_REGENERATED)
MAX_ENTRIES = 10_000


class _AppEvent(msgspec.Struct, frozen=True):
    """The one field of an app event the cache needs (other fields are ignored)."""

    client_id: str


_event_decoder = msgspec.json.Decoder(_AppEvent)


class AppCache:
    def __init__(
        self,
        registry: RegistryClient,
        *,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self._registry = registry
        self._ttl = ttl
        self._clock = clock
        self._max = max_entries
        self._entries: dict[str, tuple[float, AppView]] = {}

    async def get(self, client_id: str, *, request_id: str | None = None, fresh: bool = False) -> AppView:
        """The app's view; raises ``NotFound`` (from the registry) for an unknown or deleted client."""
        now = self._clock()
        hit = self._entries.get(client_id)
        if hit is not None and not fresh and hit[0] > now:
            return hit[1]
        app = await self._registry.get_app(client_id, request_id=request_id)
        if self._ttl > 0:
            self._remember(client_id, app, now + self._ttl)
        return app

    def _remember(self, client_id: str, app: AppView, expires: float) -> None:
        self._entries.pop(client_id, None)
        while len(self._entries) >= self._max:
            del self._entries[next(iter(self._entries))]  # oldest insertion first
        self._entries[client_id] = (expires, app)

    def evict(self, client_id: str) -> None:
        self._entries.pop(client_id, None)

    async def watch(self, nc: NATS) -> list[Subscription]:
        """Evict on every app event, in this replica."""

        async def on_event(msg: Msg) -> None:
            try:
                event = _event_decoder.decode(msg.data)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                log.warning("unreadable app event", subject=msg.subject, debug=str(exc))
                return
            self.evict(event.client_id)

        return [await nc.subscribe(subject, cb=on_event) for subject in APP_EVENTS]
