"""``mavio-oauth status``: the services and replicas answering on the bus, from nats.micro discovery.

``$SRV.PING``, ``$SRV.INFO`` and ``$SRV.STATS`` are each sent once with a reply inbox, and every answer
arriving within the collection window (``--wait``) is kept: one per replica. INFO's metadata names each
replica's metrics port (``shared.metrics_server``); STATS counts its requests and error replies since it
started. Every Mavio OAuth service without a replica answering is listed too, and makes the command
exit 1 (after printing the table). Gateway processes answer the same discovery (``services.gateway.
announce``): one ``gateway`` row each, with its ``/metrics`` URL on the HTTP port and ``-`` for the
counts (its HTTP requests are in that ``/metrics``), counted apart in the summary. When revocation has
commands pending (app deletions, revoke-all, plan changes queued while it was away: ``shared.commands``),
a last line counts them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import nats.errors
from nats.aio.client import Client as NATS

from services.cli.connect import connect_bus
from shared import subjects
from shared.commands import pending_commands
from shared.config import Settings

DEFAULT_WAIT = 1.0  # seconds: replicas answer in milliseconds; a loaded host may need more (--wait)
VERBS = ("PING", "INFO", "STATS")
ANY_HOST = ("0.0.0.0", "::", "")  # noqa: S104 - names of "every interface", to show the hostname instead


@dataclass
class Replica:
    service: str
    id: str
    version: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    requests: int | None = None
    errors: int | None = None

    @property
    def metrics_url(self) -> str:
        port = self.metadata.get("metrics_port", "")
        if not port:
            return "-"
        host = self.metadata.get("metrics_host", "")
        if host in ANY_HOST:
            host = self.metadata.get("hostname", "") or "localhost"
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/metrics"


@dataclass
class Status:
    replicas: list[Replica]
    missing: list[str]  # Mavio OAuth services with no replica answering
    gateways: list[Replica] = field(default_factory=list)  # gateway processes answering
    pending_commands: int | None = None  # revocation's queue (None: not readable)


async def collect(nc: NATS, subject: str, window: float) -> list[dict[str, Any]]:
    """Every JSON answer to one request on ``subject`` that arrives within ``window`` seconds."""
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox)
    answers: list[dict[str, Any]] = []
    try:
        await nc.publish(subject, b"", reply=inbox)
        await nc.flush()
        deadline = asyncio.get_running_loop().time() + window
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                msg = await sub.next_msg(timeout=left)
            except (nats.errors.TimeoutError, TimeoutError):
                break
            try:
                answer = json.loads(msg.data)
            except ValueError:
                continue
            if isinstance(answer, dict) and isinstance(answer.get("id"), str):
                answers.append(answer)
    finally:
        await sub.unsubscribe()
    return answers


def merge(ping: list[dict[str, Any]], info: list[dict[str, Any]], stats: list[dict[str, Any]]) -> Status:
    """One ``Replica`` per id seen in any of the three answers."""
    replicas: dict[str, Replica] = {}
    for answer in (*ping, *info, *stats):
        replica = replicas.setdefault(answer["id"], Replica(str(answer.get("name", "?")), answer["id"]))
        replica.version = str(answer.get("version", replica.version))
        if isinstance(answer.get("metadata"), dict):
            replica.metadata = {str(k): str(v) for k, v in answer["metadata"].items()}
    for answer in stats:
        endpoints = [e for e in answer.get("endpoints") or [] if isinstance(e, dict)]
        replica = replicas[answer["id"]]
        replica.requests = sum(int(e.get("num_requests", 0)) for e in endpoints)
        replica.errors = sum(int(e.get("num_errors", 0)) for e in endpoints)
    found = sorted(replicas.values(), key=lambda r: (r.service, r.metadata.get("metrics_port", ""), r.id))
    services = [r for r in found if r.service != subjects.GATEWAY]
    answering = {r.service for r in services}
    missing = [s for s in subjects.SERVICES if s not in answering]
    return Status(services, missing, [r for r in found if r.service == subjects.GATEWAY])


async def gather(nc: NATS, window: float = DEFAULT_WAIT) -> Status:
    ping, info, stats = await asyncio.gather(*(collect(nc, f"$SRV.{verb}", window) for verb in VERBS))
    return merge(ping, info, stats)


def _count(n: int | None) -> str:
    return "?" if n is None else str(n)


def render(status: Status, table: Callable[[list[tuple[str, ...]], tuple[str, ...]], str]) -> str:
    """The table (``table(rows, header)``) and a summary line."""
    rows: list[tuple[str, ...]] = [
        (r.service, r.id, r.version, _count(r.requests), _count(r.errors), r.metrics_url)
        for r in status.replicas
    ]
    rows += [(name, "-", "-", "-", "-", "no replica answering") for name in status.missing]
    rows += [(g.service, g.id, g.version, "-", "-", g.metrics_url) for g in status.gateways]
    rows.sort(key=lambda row: row[0])
    services = len({r.service for r in status.replicas})
    summary = f"{services} services, {len(status.replicas)} replicas answering"
    if status.gateways:
        summary += f", {len(status.gateways)} gateway{'s' if len(status.gateways) > 1 else ''}"
    if status.missing:
        summary += f"; not answering: {', '.join(status.missing)}"
    if status.pending_commands:  # work queued while revocation was away (none: no line)
        summary += f"\nrevocation commands pending: {status.pending_commands}"
    header = ("SERVICE", "REPLICA", "VERSION", "REQUESTS", "ERRORS", "METRICS")
    return f"{table(rows, header)}\n{summary}"


async def bus_status(settings: Settings, window: float) -> Status:
    nc = await connect_bus(settings)
    try:
        found = await gather(nc, window)
        found.pending_commands = await pending_commands(nc)
        return found
    finally:
        await nc.close()
