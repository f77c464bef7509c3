"""``python -m shared.probe SERVICE``: is SERVICE answering on the bus, with its Redis reachable?

A readiness check for container orchestrators (``deploy/k8s/``): one request to
``mavio.oauth.v1.<service>.health`` as this process's own bus user (``MAVIO_NATS_*`` settings), exit
status 0 when a replica answers and its Redis ping succeeded, 1 otherwise, 2 for bad usage or
configuration. Prints one line either way and never a secret.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

import nats

from shared import subjects
from shared.bus import Bus
from shared.bus_auth import connect_options
from shared.config import ConfigError, Settings, load_settings
from shared.errors import OAuthError
from shared.lifecycle import HealthReply, HealthRequest

TIMEOUT = 2.0  # seconds, for the connect and for the answer each


async def check(settings: Settings, service: str, *, timeout: float = TIMEOUT) -> HealthReply:
    """The health reply of one replica of ``service``; raises OAuthError or OSError when none."""

    async def quiet(_: Exception) -> None:  # the outcome is reported once, by ``main``
        return None

    nc = await asyncio.wait_for(
        nats.connect(
            servers=settings.nats_url.split(","),
            name=f"mavio-probe-{service}",
            allow_reconnect=False,
            max_reconnect_attempts=0,
            connect_timeout=timeout,
            error_cb=quiet,
            **connect_options(settings),
        ),
        timeout * 2,
    )
    try:
        bus = Bus(nc, timeout=timeout)
        return await bus.request(subjects.op(service, "health"), HealthRequest(), HealthReply)
    finally:
        await nc.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or args[0] not in subjects.SERVICES:
        print(f"usage: python -m shared.probe {{{','.join(subjects.SERVICES)}}}", file=sys.stderr)
        return 2
    service = args[0]
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"probe: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        reply = asyncio.run(check(settings, service))
    except (OAuthError, OSError, TimeoutError, nats.errors.Error) as exc:
        why = getattr(exc, "description", "") or type(exc).__name__
        print(f"probe: {service} not answering: {why}", file=sys.stderr)
        return 1
    if not reply.redis:
        print(f"probe: {service} answered (instance {reply.instance}) but its Redis did not", file=sys.stderr)
        return 1
    print(f"probe: {service} ready (instance {reply.instance})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
