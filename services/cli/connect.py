"""The CLI's one NATS connection: no reconnecting, a short timeout, failures as one clear error."""

from __future__ import annotations

import asyncio

import nats
from nats.aio.client import Client as NATS

from shared.bus_auth import connect_options
from shared.config import Settings
from shared.errors import TemporarilyUnavailable

CONNECT_TIMEOUT = 2  # seconds


async def connect_bus(settings: Settings) -> NATS:
    async def quiet(_: Exception) -> None:  # the outcome is reported once, by the caller
        return None

    try:
        return await asyncio.wait_for(
            nats.connect(
                servers=settings.nats_url.split(","),
                name="mavio-cli",
                allow_reconnect=False,
                max_reconnect_attempts=0,
                connect_timeout=CONNECT_TIMEOUT,
                error_cb=quiet,
                **connect_options(settings),  # the operator's bus user (MAVIO_NATS_USER=cli)
            ),
            CONNECT_TIMEOUT * 2,
        )
    except Exception as exc:
        raise TemporarilyUnavailable(f"cannot reach NATS at {settings.nats_url}", debug=repr(exc)) from None
