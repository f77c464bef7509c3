"""Publishing the revocation service's events: live on the bus (caches evict) and acknowledged to the
audit stream (``shared.events.publish_event``). The change is already stored when an event goes out,
so a publish failure is logged and never fails the operation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from nats.aio.client import Client as NATS

from shared.events import publish_event
from shared.messages import events as ev

log = structlog.get_logger("mavio.revocation")

Publish = Callable[[ev.Event], Awaitable[None]]


def event_publisher(nc: NATS, writer: NATS | None = None) -> Publish:
    """Live on ``nc``; to the audit stream through ``writer`` (the JetStream writer, bus user ``audit``;
    ``nc`` when None)."""

    async def publish(event: ev.Event) -> None:
        try:
            await publish_event(nc, event, writer=writer)
        except Exception as exc:
            log.error("event not published", kind=type(event).__name__, debug=repr(exc))

    return publish
