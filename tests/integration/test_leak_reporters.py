"""Trusted leak reporters' keys (``shared.leak_reporters``): GitHub's key-list shape read from a file or
fetched from a URL (a real aiohttp server on loopback), cached, read again for an unknown identifier at
most once a minute (an injected clock), and signatures checked with ``cryptography``."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from services.stack.embedded import free_port
from shared.leak_reporters import (
    KeyListError,
    ReporterKeys,
    file_loader,
    file_stamp,
    parse_key_list,
    signature_valid,
    url_loader,
)
from tests.support.leak_reporter import Reporter, write_key_list


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class KeyServer:
    """Serves the key list the test sets, counting requests."""

    def __init__(self) -> None:
        self.body = b'{"public_keys": []}'
        self.hits = 0

    async def handle(self, _: web.Request) -> web.Response:
        self.hits += 1
        return web.Response(body=self.body, content_type="application/json")


@pytest.fixture
async def served() -> AsyncIterator[tuple[KeyServer, str]]:
    server = KeyServer()
    app = web.Application()
    app.router.add_get("/keys", server.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield server, f"http://127.0.0.1:{port}/keys"
    await runner.cleanup()


def key_list(*reporters: Reporter) -> bytes:
    return json.dumps({"public_keys": [r.public_entry() for r in reporters]}).encode()


async def test_an_unknown_identifier_refetches_at_most_once_a_minute(served: tuple[KeyServer, str]) -> None:
    server, url = served
    first, later = Reporter("first"), Reporter("later")
    server.body = key_list(first)
    clock = Clock()
    async with aiohttp.ClientSession() as session:
        keys = ReporterKeys(url_loader(session, url), clock=clock)
        assert await keys.key("first") is not None and server.hits == 1
        assert await keys.key("first") is not None and server.hits == 1  # cached
        server.body = key_list(first, later)
        clock.now += 59
        for _ in range(5):
            assert await keys.key("later") is None  # within the minute: not fetched again
        assert server.hits == 1
        clock.now += 1
        assert await keys.key("later") is not None and server.hits == 2
        for _ in range(5):
            assert await keys.key("nobody") is None
        assert server.hits == 2


async def test_a_failed_refetch_keeps_the_last_good_list(served: tuple[KeyServer, str]) -> None:
    server, url = served
    reporter = Reporter("kept")
    server.body = key_list(reporter)
    clock = Clock()
    async with aiohttp.ClientSession() as session:
        keys = ReporterKeys(url_loader(session, url), clock=clock)
        assert await keys.key("kept") is not None
        server.body = b"<html>oops</html>"
        clock.now += 61
        assert await keys.key("unknown") is None
        assert await keys.key("kept") is not None and server.hits == 2


async def test_a_key_the_reporter_drops_is_no_longer_trusted_after_max_age(
    served: tuple[KeyServer, str],
) -> None:
    server, url = served
    kept, dropped = Reporter("kept"), Reporter("dropped")
    server.body = key_list(kept, dropped)
    clock = Clock()
    async with aiohttp.ClientSession() as session:
        keys = ReporterKeys(url_loader(session, url), clock=clock, max_age=600)
        assert await keys.key("dropped") is not None and server.hits == 1
        server.body = key_list(kept)
        clock.now += 599
        assert await keys.key("dropped") is not None and server.hits == 1  # still young: cached
        clock.now += 1
        assert await keys.key("dropped") is None and server.hits == 2
        assert await keys.key("kept") is not None and server.hits == 2
        for _ in range(5):  # unknown ids within the minute still read nothing
            assert await keys.key("dropped") is None
        assert server.hits == 2


async def test_a_key_deleted_from_the_file_is_no_longer_trusted_at_once(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    kept, deleted = Reporter("kept"), Reporter("deleted")
    write_key_list(path, kept, deleted)
    keys = ReporterKeys(file_loader(str(path)), stamp=file_stamp(str(path)), clock=Clock())
    assert await keys.key("deleted") is not None
    assert await keys.key("kept") is not None and keys.fetches == 1  # unchanged file: not read again
    write_key_list(path, kept)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # coarse mtime clocks
    assert await keys.key("deleted") is None and keys.fetches == 2
    assert await keys.key("kept") is not None and keys.fetches == 2


async def test_signatures_verify_over_the_exact_body(tmp_path: Path) -> None:
    reporter, other = Reporter("r"), Reporter("r")
    write_key_list(tmp_path / "keys.json", reporter)
    keys = ReporterKeys(file_loader(str(tmp_path / "keys.json")))
    key = await keys.key("r")
    assert key is not None
    body = b'[{"token":"x","type":"t","url":"u","source":"content"}]'
    assert signature_valid(key, body, reporter.sign(body))
    assert not signature_valid(key, body + b" ", reporter.sign(body))
    assert not signature_valid(key, body, other.sign(body))
    assert not signature_valid(key, body, "not base64!")
    assert not signature_valid(key, body, "")


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"[]", "not a key list"),
        (b'{"public_keys": [{"key_identifier": "a", "key": "nope"}]}', "not a PEM public key"),
    ],
)
def test_a_malformed_key_list_is_a_clear_error(raw: bytes, problem: str) -> None:
    with pytest.raises(KeyListError, match=problem):
        parse_key_list(raw)


def test_a_key_of_another_curve_is_refused() -> None:
    pem = (
        ec.generate_private_key(ec.SECP384R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    raw = json.dumps({"public_keys": [{"key_identifier": "p384", "key": pem.decode()}]}).encode()
    with pytest.raises(KeyListError, match="not an ECDSA P-256 key"):
        parse_key_list(raw)
