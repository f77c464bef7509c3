"""Connecting to a test system's bus as one of its real bus users (``shared.bus_auth``), with that
user's password and inbox prefix, as an attacker holding those credentials would."""

from __future__ import annotations

import nats
from nats.aio.client import Client as NATS

from shared import bus_auth
from tests.support.system import System


async def connect_as(system: System, user: str, errors: list[str] | None = None) -> NATS:
    """A connection as ``user`` that never reconnects; the server's permission errors are appended to
    ``errors`` when given."""

    async def on_error(exc: Exception) -> None:
        if errors is not None:
            errors.append(str(exc))

    env = system.servers.env(user)
    return await nats.connect(
        system.servers.nats_url,
        user=env["MAVIO_NATS_USER"],
        password=env["MAVIO_NATS_PASSWORD"],
        inbox_prefix=bus_auth.inbox_prefix(user),
        error_cb=on_error,
        allow_reconnect=False,
    )
