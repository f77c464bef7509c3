"""Trusted leak reporters' keys and their signatures (GitHub's secret-scanning partner format).

A reporter publishes its keys as ``{"public_keys": [{"key_identifier", "key", "is_current"}]}`` (``key``:
a PEM ECDSA P-256 public key) and signs each report's raw body: header ``Github-Public-Key-Identifier``
names the key, ``Github-Public-Key-Signature`` carries the base64 DER ECDSA signature over SHA-256.
Mavio reads the list from ``MAVIO_LEAK_REPORTER_KEYS_FILE`` or ``MAVIO_LEAK_REPORTER_KEYS_URL`` and
caches it; an identifier it does not know makes it read the list again, at most once a minute
(``ReporterKeys``), so a reporter's key rotation is picked up and unknown identifiers cannot make Mavio
fetch without end. The list is also read again once it is older than ``MAVIO_LEAK_REPORTER_KEYS_MAX_AGE``
(default 10 minutes), and a file as soon as its modification time changes, so a key a reporter drops
(or an operator deletes from the file) stops being trusted without a restart. The cryptography is
``cryptography``'s; nothing here is hand-written.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import msgspec
import structlog
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

log = structlog.get_logger("mavio.leak_reporters")

KEY_ID_HEADER = "Github-Public-Key-Identifier"
SIGNATURE_HEADER = "Github-Public-Key-Signature"
REFETCH_INTERVAL = 60.0  # seconds: the key list is read again for an unknown identifier at most this often
MAX_AGE = 600.0  # seconds: a key list older than this is read again before it is used
MAX_KEY_LIST = 256 * 1024  # bytes of a key list
Load = Callable[[], Awaitable[bytes]]
Stamp = Callable[[], Awaitable[object]]  # changes when the source changes (a file's mtime)


class KeyListError(Exception):
    """The key list could not be read or is not in GitHub's shape (a one-line message)."""


class PublicKeyEntry(msgspec.Struct, frozen=True):
    key_identifier: str
    key: str
    is_current: bool = False


class KeyList(msgspec.Struct, frozen=True):
    public_keys: list[PublicKeyEntry]


_decode_list = msgspec.json.Decoder(KeyList).decode


def parse_key_list(raw: bytes) -> dict[str, ec.EllipticCurvePublicKey]:
    """Identifier -> P-256 public key; ``KeyListError`` for anything else (a key of another curve too)."""
    try:
        entries = _decode_list(raw).public_keys
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise KeyListError(f"not a key list of the shape {{public_keys: [...]}}: {exc}") from None
    keys: dict[str, ec.EllipticCurvePublicKey] = {}
    for entry in entries:
        try:
            key = serialization.load_pem_public_key(entry.key.encode())
        except (ValueError, TypeError):
            raise KeyListError(f"key {entry.key_identifier!r} is not a PEM public key") from None
        if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
            raise KeyListError(f"key {entry.key_identifier!r} is not an ECDSA P-256 key")
        keys[entry.key_identifier] = key
    return keys


def listed(raw: bytes) -> list[PublicKeyEntry]:
    """The entries of a key list (``mavio-oauth leak-reporters list``), checked like ``parse_key_list``."""
    parse_key_list(raw)
    return _decode_list(raw).public_keys


def signature_valid(key: ec.EllipticCurvePublicKey, body: bytes, signature_b64: str) -> bool:
    """Whether ``signature_b64`` (base64 DER ECDSA) is ``key``'s signature of SHA-256(``body``)."""
    try:
        signature = base64.b64decode(signature_b64.strip(), validate=True)
        key.verify(signature, body, ec.ECDSA(hashes.SHA256()))
    except (binascii.Error, ValueError, InvalidSignature):
        return False
    return True


def file_loader(path: str) -> Load:
    async def load() -> bytes:
        try:
            return await asyncio.to_thread(Path(path).read_bytes)
        except OSError as exc:
            raise KeyListError(f"cannot read {path}: {exc.strerror}") from None

    return load


def file_stamp(path: str) -> Stamp:
    """The file's modification time (ns), or None when it cannot be read (the next read says why)."""

    async def stamp() -> object:
        try:
            return (await asyncio.to_thread(Path(path).stat)).st_mtime_ns
        except OSError:
            return None

    return stamp


def url_loader(session: aiohttp.ClientSession, url: str, *, timeout: float = 10.0) -> Load:
    async def load() -> bytes:
        try:
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
                if resp.status != 200:
                    raise KeyListError(f"{url} answered {resp.status}")
                raw = await resp.content.read(MAX_KEY_LIST + 1)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise KeyListError(f"cannot fetch {url}: {exc!r}") from None
        if len(raw) > MAX_KEY_LIST:
            raise KeyListError(f"{url}: the key list is over {MAX_KEY_LIST} bytes")
        return raw

    return load


class ReporterKeys:
    """The cached key list. ``key(identifier)`` reads it again when it is older than ``max_age``, when
    ``stamp`` (a file's mtime) changed, or for an unknown identifier at most once per
    ``refetch_interval`` (``clock`` injectable). Keeps the last good list when a read fails."""

    def __init__(
        self,
        load: Load,
        *,
        stamp: Stamp | None = None,
        clock: Callable[[], float] = time.monotonic,
        refetch_interval: float = REFETCH_INTERVAL,
        max_age: float = MAX_AGE,
    ) -> None:
        self._load = load
        self._stamp = stamp
        self._clock = clock
        self._interval = refetch_interval
        self._max_age = max_age
        self._keys: dict[str, ec.EllipticCurvePublicKey] = {}
        self._loaded_at: float | None = None
        self._loaded_stamp: object = None
        self._lock = asyncio.Lock()
        self.fetches = 0  # reads of the list so far (metrics, tests)

    async def key(self, identifier: str) -> ec.EllipticCurvePublicKey | None:
        async with self._lock:
            if await self._stale() or (identifier not in self._keys and self._due()):
                await self._refresh()
        return self._keys.get(identifier)

    async def _stale(self) -> bool:
        """Older than ``max_age``, or its file changed since it was read."""
        if self._loaded_at is None or self._clock() - self._loaded_at >= self._max_age:
            return True
        return self._stamp is not None and await self._stamp() != self._loaded_stamp

    def _due(self) -> bool:
        return self._loaded_at is None or self._clock() - self._loaded_at >= self._interval

    async def _refresh(self) -> None:
        self._loaded_at = self._clock()
        self.fetches += 1
        if self._stamp is not None:
            self._loaded_stamp = await self._stamp()
        try:
            self._keys = parse_key_list(await self._load())
        except KeyListError as exc:
            log.warning("leak reporters' key list not loaded", debug=str(exc))
