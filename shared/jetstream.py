"""Writing to a JetStream stream and waiting for its acknowledgement: the one retry loop that the audit
trail (``shared.events``) and revocation's command queue (``shared.commands``) share."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import nats.errors
import nats.js.errors
import structlog
from nats.aio.client import Client as NATS

log = structlog.get_logger("mavio.jetstream")

TRIES = 5
ACK_TIMEOUT = 2.0  # seconds for one acknowledgement


async def publish_acknowledged(
    writer: NATS,
    subject: str,
    data: bytes,
    *,
    ensure: Callable[[], Awaitable[None]],
    stream: str | None = None,
    headers: dict[str, str] | None = None,
) -> bool:
    """Publish ``data`` and wait for JetStream to acknowledge it, up to ``TRIES`` times: when no stream
    answers, ``ensure`` creates it (its failure is logged, and the next try tells); a timeout or another
    bus error backs off a little. False when no try was acknowledged."""
    js = writer.jetstream()
    for attempt in range(TRIES):
        try:
            await js.publish(subject, data, timeout=ACK_TIMEOUT, stream=stream, headers=headers)
            return True
        except (nats.errors.NoRespondersError, nats.js.errors.NoStreamResponseError):
            try:
                await ensure()
            except Exception as exc:  # JetStream not ready yet: the next try tells
                log.warning("stream not available", subject=subject, debug=repr(exc))
        except (nats.errors.Error, nats.js.errors.Error, TimeoutError) as exc:
            log.warning("publish not acknowledged; retrying", attempt=attempt, debug=repr(exc))
            await asyncio.sleep(0.1 * (attempt + 1))
    return False
