"""Leak reports at the gateway: the report's shape (GitHub's secret-scanning partner format), the
trusted reporters' keys (a ``cleanup_ctx``), and handing a report's well-formed Mavio credentials to
their owning services in chunks that fit the bus (tokens to revocation, client secrets to the registry).

Anything that is not a well-formed Mavio credential (a wrong prefix, a bad checksum, garbage) is a
false positive here and never leaves the gateway.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import aiohttp
import msgspec
from aiohttp import web

from services.gateway.keys import LEAK_REPORTERS, SETTINGS
from shared import subjects
from shared.bus import Bus
from shared.errors import InvalidRequest
from shared.leak_reporters import ReporterKeys, file_loader, file_stamp, url_loader
from shared.messages.leaks import (
    MAX_ITEMS_PER_REQUEST,
    LeakedCredential,
    LeakVerdict,
    ReportLeakedReply,
    ReportLeakedRequest,
)
from shared.tokens import check_client_secret_format, parse

MAX_URL = 2048  # characters of a report's url carried on (events, audit, banner)
MAX_SOURCE = 64
UNKNOWN = LeakVerdict(issued=False)


class ReportItem(msgspec.Struct, frozen=True):
    """One match of a report: ``{"token", "type", "url", "source"}`` (other fields are ignored)."""

    token: str
    type: str
    url: str = ""
    source: str = ""


_decode_report = msgspec.json.Decoder(list[ReportItem]).decode
_decode_any = msgspec.json.Decoder().decode


def parse_report(body: bytes) -> list[ReportItem]:
    """The report's items; ``InvalidRequest`` (400) with a clear message for any other body."""
    try:
        items = _decode_report(body)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(_shape_problem(body, exc)) from None
    except msgspec.DecodeError:
        raise InvalidRequest("the body is not JSON") from None
    if not items:
        raise InvalidRequest("the report is empty: send at least one {token, type, url, source}")
    return items


def _shape_problem(body: bytes, exc: msgspec.ValidationError) -> str:
    if not isinstance(_decode_any(body), list):
        return "the body must be a JSON array of {token, type, url, source}"
    return f"each item must be {{token, type, url, source}} with string values: {exc}"


def token_hash(raw: str) -> str:
    """SHA-256 (hex) of the raw string: what the reply, events and the audit trail carry."""
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def _subject(raw: str) -> str:
    """Where a credential goes: revocation for tokens, the registry for client secrets, "" nowhere."""
    parsed = parse(raw)
    if parsed is not None and parsed.kind in ("at", "rt"):
        return subjects.REVOCATION_LEAKED
    return subjects.REGISTRY_SECRET_LEAKED if check_client_secret_format(raw) else ""


async def act_on(
    bus: Bus, items: list[ReportItem], *, actor: str, client_id: str = "", request_id: str = ""
) -> list[LeakVerdict]:
    """One verdict per item, in order, once every owning service has acted on its share."""
    verdicts = [UNKNOWN] * len(items)
    for subject in (subjects.REVOCATION_LEAKED, subjects.REGISTRY_SECRET_LEAKED):
        indexes = [i for i, item in enumerate(items) if _subject(item.token) == subject]
        for start in range(0, len(indexes), MAX_ITEMS_PER_REQUEST):
            chunk = indexes[start : start + MAX_ITEMS_PER_REQUEST]
            req = ReportLeakedRequest(
                items=[_credential(items[i]) for i in chunk], actor=actor, client_id=client_id
            )
            reply = await bus.request(subject, req, ReportLeakedReply, request_id=request_id)
            for i, verdict in zip(chunk, reply.verdicts, strict=True):
                verdicts[i] = verdict
    return verdicts


def _credential(item: ReportItem) -> LeakedCredential:
    return LeakedCredential(
        token=item.token,
        token_hash=token_hash(item.token),
        url=item.url[:MAX_URL],
        source=item.source[:MAX_SOURCE],
    )


async def reporter_keys(app: web.Application) -> AsyncIterator[None]:
    """``cleanup_ctx``: the trusted reporters' keys from the file or the URL; None when neither is set
    (the endpoint then answers 404)."""
    settings = app[SETTINGS]
    session = None
    if settings.leak_reporter_keys_file:
        path = settings.leak_reporter_keys_file
        app[LEAK_REPORTERS] = ReporterKeys(
            file_loader(path), stamp=file_stamp(path), max_age=settings.leak_reporter_keys_max_age
        )
    elif settings.leak_reporter_keys_url:
        session = aiohttp.ClientSession()
        app[LEAK_REPORTERS] = ReporterKeys(
            url_loader(session, settings.leak_reporter_keys_url),
            max_age=settings.leak_reporter_keys_max_age,
        )
    else:
        app[LEAK_REPORTERS] = None
    yield
    if session is not None:
        await session.close()
