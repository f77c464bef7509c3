"""Request bodies at the gateway edge (``services.gateway.server``, ``limits``): nothing is inflated
(any ``Content-Encoding`` is 415), body limits hold on the bytes that arrive whatever the framing, a
refused body's connection is closed (no lingering read of the rest), and input that cannot be decoded
is 400 or 415, never 500. Raw sockets: an HTTP client library would not send most of this."""

from __future__ import annotations

import gzip
import json
import zlib

import pytest

from services.gateway import limits
from tests.support import raw_http
from tests.support.factories import login_csrf, new_http, signed_in_client
from tests.support.system import System

FORM = b"application/x-www-form-urlencoded"
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"


def request(path: bytes, body: bytes, *headers: bytes, ctype: bytes = FORM) -> bytes:
    head = [b"POST " + path + b" HTTP/1.1", b"Host: x", b"Content-Type: " + ctype, *headers]
    if not any(h.lower().startswith(b"transfer-encoding") for h in headers):
        head.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def body_of(answer: bytes) -> dict[str, object]:
    return json.loads(answer.split(b"\r\n\r\n", 1)[1])  # type: ignore[no-any-return]


def header(answer: bytes, name: bytes) -> bytes:
    for line in answer.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name.lower():
            return value.strip()
    return b""


async def answer(system: System, data: bytes) -> bytes:
    """The response to ``data``, sent with ``Connection: close``."""
    closing = data.replace(b"Host: x\r\n", b"Host: x\r\nConnection: close\r\n", 1)
    return await raw_http.raw(system.settings.http_port, closing)


def chunked(*chunks: bytes, last: bool = True) -> bytes:
    out = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks)
    return out + (b"0\r\n\r\n" if last else b"")


# ---- no decompression -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "coding, body",
    [
        (b"gzip", gzip.compress(b"grant_type=refresh_token&client_id=a&client_secret=b&refresh_token=c")),
        (b"deflate", zlib.compress(b"grant_type=refresh_token")),
        (b"gzip", b"\x1f\x8b\x08\x00not gzip at all"),  # corrupt: inflating it failed with a 500
        (b"br", b"\x0b\x02\x80hello\x03"),
        (b"x-unheard-of", b"grant_type=x"),
    ],
)
async def test_any_content_encoding_is_415_and_the_body_is_never_inflated(
    system: System, coding: bytes, body: bytes
) -> None:
    got = await answer(system, request(b"/oauth/token", body, b"Content-Encoding: " + coding))
    assert status_of(got) == 415, got[:200]
    assert body_of(got)["error"] == "invalid_request"
    assert "Content-Encoding" in str(body_of(got)["error_description"])
    assert header(got, b"Accept-Encoding") == b"identity"  # RFC 7694 §3


async def test_a_compressed_body_on_a_page_or_the_json_api_is_415_too(system: System) -> None:
    body = gzip.compress(b'{"name": "x"}')
    for path, ctype in ((b"/login", FORM), (b"/api/v1/oauth-apps", b"application/json")):
        got = await answer(system, request(path, body, b"Content-Encoding: gzip", ctype=ctype))
        assert status_of(got) == 415, (path, got[:200])


async def test_a_gzip_bomb_is_refused_and_never_inflated(system: System) -> None:
    """100 KB of gzip that inflates to 100 MB (the attack used 2 MB for 2 GB): refused from its
    headers, and the connection closed without reading the rest. Before, the gateway inflated the
    rest after its 413 and then answered the request pipelined behind it."""
    bomb = zlib.compressobj(1, zlib.DEFLATED, 31)
    body = b"".join(bomb.compress(b"\0" * (1 << 20)) for _ in range(100)) + bomb.flush()
    head = b"Content-Encoding: gzip\r\nContent-Length: %d" % len(body)
    data = request(b"/oauth/token", b"", head).replace(b"Content-Length: 0\r\n", b"")
    half = len(body) // 2
    first, rest = await raw_http.one_response_then(
        system.settings.http_port, data + body[:half], body[half:] + HEALTHZ
    )
    assert status_of(first) in (413, 415)
    assert header(first, b"Connection").lower() == b"close"
    assert b"HTTP/1.1" not in rest  # nothing more was read or answered on this connection


# ---- limits on the bytes that arrive, and the connection closed after a refusal ---------------


async def test_a_chunked_body_over_the_limit_is_413_and_the_connection_is_closed(system: System) -> None:
    """No Content-Length to check up front: the limit holds on the bytes as they arrive. Before, the
    gateway read (and inflated) the rest for up to ten seconds and then served the next request."""
    over = chunked(b"a" * 8192, b"a" * 8192, b"a" * 8192, last=False)
    data = request(b"/oauth/token", over, b"Transfer-Encoding: chunked")
    first, rest = await raw_http.one_response_then(
        system.settings.http_port, data, chunked(b"a" * 100) + HEALTHZ
    )
    assert status_of(first) == 413, first[:200]
    assert "at most" in str(body_of(first)["error_description"])
    assert header(first, b"Connection").lower() == b"close"
    assert b"HTTP/1.1" not in rest


async def test_a_declared_length_over_the_limit_is_413_and_the_connection_is_closed(
    system: System,
) -> None:
    declared = limits.DEFAULT_BODY + 1
    data = request(b"/oauth/token", b"", b"Content-Length: %d" % declared)
    data = data.replace(b"Content-Length: 0\r\n", b"") + b"a" * 1000
    first, rest = await raw_http.one_response_then(
        system.settings.http_port, data, b"a" * (declared - 1000) + HEALTHZ
    )
    assert status_of(first) == 413
    assert header(first, b"Connection").lower() == b"close"
    assert b"HTTP/1.1" not in rest  # before: the rest was read and /healthz answered on this connection


async def test_a_chunked_logo_upload_is_limited_on_every_part(system: System) -> None:
    """The logo upload streams its multipart body; parts it skips count against the limit too."""
    http, _ = await signed_in_client(system)
    async with http:
        cookie = "; ".join(f"{c.key}={c.value}" for c in http.cookie_jar)
    skipped = b"--b\r\nContent-Disposition: form-data; name=junk\r\n\r\n" + b"j" * (limits.LOGO_BODY + 1)
    body = chunked(*(skipped[i : i + 65536] for i in range(0, len(skipped), 65536)), last=False)
    data = request(
        b"/api/v1/oauth-apps/mavio_client_x/logo",
        body,
        b"Transfer-Encoding: chunked",
        b"Cookie: " + cookie.encode(),
        ctype=b"multipart/form-data; boundary=b",
    ).replace(b"POST /api", b"PUT /api")
    first, _ = await raw_http.one_response_then(system.settings.http_port, data, b"")
    assert status_of(first) == 413, first[:300]


async def test_a_body_whose_chunked_framing_breaks_midway_is_400(system: System) -> None:
    broken = b"%x\r\n%s\r\n" % (100, b"a" * 100) + b"zz\r\nrest\r\n"
    got = await answer(system, request(b"/oauth/token", broken, b"Transfer-Encoding: chunked"))
    assert status_of(got) == 400, got[:200]


# ---- undecodable input: 400 or 415, never 500 -------------------------------------------------


@pytest.mark.parametrize("path", [b"/oauth/token", b"/login", b"/api/v1/oauth-apps"])
async def test_an_unknown_charset_is_415(system: System, path: str) -> None:
    for charset in (b"x-unheard-of", b"base64"):
        ctype = (b"application/json" if path.startswith(b"/api/") else FORM) + b"; charset=" + charset
        got = await answer(system, request(path, b"email=a%40example.com", ctype=ctype))
        assert status_of(got) == 415, (charset, got[:200])


async def test_a_known_charset_is_accepted(system: System) -> None:
    """Some OAuth client libraries declare ISO-8859-1 for their (ASCII) token requests."""
    got = await answer(
        system, request(b"/oauth/token", b"grant_type=x", ctype=FORM + b"; charset=ISO-8859-1")
    )
    assert status_of(got) == 401 and body_of(got)["error"] == "invalid_client"


async def test_bad_utf8_in_a_json_api_string_is_400(system: System) -> None:
    http, _ = await signed_in_client(system)
    async with (
        http,
        http.post(
            system.url("/api/v1/oauth-apps"),
            data=b'{"name": "caf\xe9", "redirect_uris": ["https://a.example/cb"]}',
            headers={"Content-Type": "application/json"},
        ) as resp,
    ):
        assert resp.status == 400
        got = await resp.json()
    assert got["error"] == "validation_failed" and "UTF-8" in got["fields"]["body"]


async def test_a_multipart_field_in_an_unknown_charset_is_415(system: System) -> None:
    async with new_http() as http:
        token = await login_csrf(system, http)
        body = (
            b"--b\r\nContent-Disposition: form-data; name=csrf_token\r\n\r\n" + token.encode() + b"\r\n"
            b"--b\r\nContent-Disposition: form-data; name=email\r\n"
            b"Content-Type: text/plain; charset=x-unheard-of\r\n\r\na@example.com\r\n--b--\r\n"
        )
        async with http.post(
            system.url("/login"), data=body, headers={"Content-Type": "multipart/form-data; boundary=b"}
        ) as resp:
            assert resp.status == 415


@pytest.mark.parametrize(
    "coding, data",
    [(b"gzip", gzip.compress(b"\0" * (10 << 20))), (b"x-unheard-of", b"x"), (b"base64", b"eA==")],
    ids=["gzip", "unknown", "base64-transfer"],
)
async def test_a_multipart_part_with_a_coding_is_415_and_never_decoded(
    system: System, coding: bytes, data: bytes
) -> None:
    """A part's coding (RFC 7578 gives form parts none): aiohttp would inflate a gzip part into a
    temporary file without a bound (10 KB here, 10 MB inflated) and answer an unknown one with a 500."""
    header = b"Content-Transfer-Encoding" if coding == b"base64" else b"Content-Encoding"
    async with new_http() as http:
        token = await login_csrf(system, http)
        body = (
            b"--b\r\nContent-Disposition: form-data; name=csrf_token\r\n\r\n" + token.encode() + b"\r\n"
            b'--b\r\nContent-Disposition: form-data; name=logo; filename="a.png"\r\n'
            + header
            + b": "
            + coding
            + b"\r\nContent-Type: image/png\r\n\r\n"
            + data
            + b"\r\n--b--\r\n"
        )
        async with http.post(
            system.url("/login"), data=body, headers={"Content-Type": "multipart/form-data; boundary=b"}
        ) as resp:
            assert resp.status == 415, await resp.text()


async def test_a_form_that_is_not_utf8_is_400(system: System) -> None:
    async with new_http() as http:
        token = await login_csrf(system, http)
        async with http.post(
            system.url("/login"),
            data=b"csrf_token=" + token.encode() + b"&email=\xff\xfe",
            headers={"Content-Type": FORM.decode()},
        ) as resp:
            assert resp.status == 400
