"""The gateway in the bus's service discovery: each gateway process declares a nats.micro service
named ``gateway`` with no endpoint, so ``$SRV.PING`` / ``$SRV.INFO`` / ``$SRV.STATS`` (and so
``mavio-oauth status``) find it beside the services. Its INFO metadata names its public URL and its
``/metrics`` (served on the HTTP port itself). It lives as long as the gateway's bus connection."""

from __future__ import annotations

import socket

from nats.aio.client import Client as NATS

from shared import subjects
from shared.config import Settings
from shared.service import ServiceRunner

NAME = subjects.GATEWAY
VERSION = "0.1.0"


def metadata(settings: Settings) -> dict[str, str]:
    return {
        "public_url": settings.public_url,
        "metrics_port": str(settings.http_port),
        "metrics_host": settings.http_host,
        "hostname": socket.gethostname(),
    }


async def announce(nc: NATS, settings: Settings) -> ServiceRunner:
    """Join the discovery (answers only PING, INFO and STATS: the gateway serves nothing on the bus)."""
    runner = ServiceRunner(nc, name=NAME, version=VERSION, metadata=metadata(settings))
    await runner.start([])
    return runner
