"""``mavio-oauth leak-reporters list``: the trusted secret-scanning reporters' keys, as the gateway reads
them (``MAVIO_LEAK_REPORTER_KEYS_FILE``, or ``MAVIO_LEAK_REPORTER_KEYS_URL`` fetched now), each key
checked to be an ECDSA P-256 public key. Exit 1 when neither is set or the list cannot be read."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import aiohttp

from shared.config import Settings
from shared.leak_reporters import KeyListError, file_loader, listed, url_loader

Table = Callable[[Sequence[tuple[str, ...]], tuple[str, ...]], str]


class NotConfigured(KeyListError):
    pass


async def _raw(settings: Settings) -> tuple[bytes, str]:
    if settings.leak_reporter_keys_file:
        path = settings.leak_reporter_keys_file
        return await file_loader(path)(), path
    if settings.leak_reporter_keys_url:
        async with aiohttp.ClientSession() as session:
            return await url_loader(
                session, settings.leak_reporter_keys_url
            )(), settings.leak_reporter_keys_url
    raise NotConfigured(
        "no leak reporters: set MAVIO_LEAK_REPORTER_KEYS_FILE or MAVIO_LEAK_REPORTER_KEYS_URL "
        "(POST /oauth/leaked-credentials answers 404 until then)"
    )


async def list_reporters(settings: Settings, table: Table) -> str:
    """The table of keys; ``KeyListError`` (one line) when there is none or it cannot be read."""
    raw, source = await _raw(settings)
    entries = listed(raw)
    rows = [
        (
            e.key_identifier,
            "yes" if e.is_current else "no",
            hashlib.sha256(e.key.encode()).hexdigest()[:16],
        )
        for e in entries
    ]
    return f"from {source}\n" + table(rows, ("KEY IDENTIFIER", "CURRENT", "KEY SHA-256"))
