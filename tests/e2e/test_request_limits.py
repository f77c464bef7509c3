"""Request limits at the gateway (``services.gateway.limits``, ``services.gateway.server``): oversized
requests get 413/414/431 with a clear body, never a 500 (the bus's maximum message is 1 MB); dripping
connections are closed after MAVIO_HTTP_HEADER_TIMEOUT / MAVIO_HTTP_BODY_TIMEOUT."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from services.gateway import limits
from tests.support import raw_http
from tests.support.factories import login_csrf, new_http, signed_in_client
from tests.support.system import System, start_system

MB = 1024 * 1024


@pytest.fixture(scope="module")
async def sut() -> AsyncIterator[System]:
    system = await start_system({"MAVIO_HTTP_HEADER_TIMEOUT": "1", "MAVIO_HTTP_BODY_TIMEOUT": "1"})
    yield system
    await system.close()


async def post(sut: System, path: str, **kw: object) -> tuple[int, str, str]:
    async with new_http() as http, http.post(sut.url(path), allow_redirects=False, **kw) as resp:  # type: ignore[arg-type]
        return resp.status, resp.headers.get("Content-Type", ""), await resp.text()


async def test_a_2mb_password_is_413_not_500(sut: System) -> None:
    async with new_http() as http:
        token = await login_csrf(sut, http)
        form = {"csrf_token": token, "email": "a@example.com", "password": "x" * (2 * MB)}
        async with http.post(sut.url("/login"), data=form) as resp:
            assert resp.status == 413
            assert resp.content_type == "text/html"
            assert "at most" in await resp.text()


async def test_a_huge_json_body_or_100000_redirect_uris_is_413(sut: System) -> None:
    http, _ = await signed_in_client(sut)
    async with http:
        for body in (
            b'{"name": "' + b"x" * (3 * MB) + b'"}',
            json.dumps({"redirect_uris": ["https://a.example/cb"] * 100_000}).encode(),
        ):
            async with http.post(
                sut.url("/api/v1/oauth-apps"), data=body, headers={"Content-Type": "application/json"}
            ) as resp:
                assert resp.status == 413
                got = await resp.json()
                assert got["error"] == "invalid_request" and "at most" in got["error_description"]


async def test_a_huge_state_on_the_consent_post_is_413_and_never_echoed(sut: System) -> None:
    status, _, text = await post(sut, "/oauth/authorize", data={"state": "s" * (3 * MB + 900_000)})
    assert status == 413 and len(text) < 10_000


FORM_TYPE = "application/x-www-form-urlencoded"


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke", "/oauth/introspect"])
async def test_form_field_count_and_length_are_limited(sut: System, path: str) -> None:
    """The OAuth endpoints parse their own forms (once), under the same limits as every other form."""
    many = "&".join(f"f{i}=v" for i in range(limits.MAX_FORM_FIELDS + 1))
    status, ctype, text = await post(
        sut, path, data=many, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 413 and ctype == "application/json" and "fields" in json.loads(text)["error_description"]
    status, _, text = await post(sut, path, data={"grant_type": "x" * (limits.DEFAULT_FIELD + 1)})
    assert status == 413 and "field" in json.loads(text)["error_description"]
    just = "&".join(f"f{i}=v" for i in range(limits.MAX_FORM_FIELDS))  # at the limit: not a 413
    status, _, _ = await post(sut, path, data=just, headers={"Content-Type": FORM_TYPE})
    assert status != 413


async def test_a_chunked_body_over_the_limit_is_413(sut: System) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"a" * 1024

    status, _, _ = await post(
        sut, "/oauth/token", data=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 413


async def test_a_long_query_is_414(sut: System) -> None:
    async with new_http() as http:
        for size in (limits.MAX_QUERY + 1, 20_000):  # ours, then the HTTP parser's request-line limit
            async with http.get(
                sut.url("/oauth/authorize?state=" + "s" * size), allow_redirects=False
            ) as resp:
                assert resp.status == 414, size
                assert (await resp.json())["error"] == "invalid_request"


async def raw(sut: System, data: bytes, **kw: float | bytes) -> bytes:
    return await raw_http.raw(sut.settings.http_port, data, **kw)  # type: ignore[arg-type]


async def test_long_or_many_header_lines_are_431_and_never_echoed(sut: System) -> None:
    cookie = b"Cookie: mavio_session=" + b"C" * 9000 + b"\r\n"
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(100))
    for headers in (cookie, many):
        answer = await raw(sut, b"GET / HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
        assert answer.startswith(b"HTTP/1.1 431") or answer.startswith(b"HTTP/1.0 431"), answer[:80]
        assert b"CCCC" not in answer and b"invalid_request" in answer


async def test_headers_over_the_total_limit_are_431(sut: System) -> None:
    big = b"".join(b"X-Big-%d: %s\r\n" % (i, b"v" * 8000) for i in range(5))
    answer = await raw(sut, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + big + b"\r\n")
    assert b" 431 " in answer.split(b"\r\n", 1)[0]


async def test_a_connection_dripping_its_headers_is_closed(sut: System) -> None:
    answer = await raw(sut, b"GET / HTTP/1.1\r\n", drip=b"X-Slow: " + b"a" * 200)
    assert answer == b""  # closed (before the 15 s bound) without a response: nothing was requested


async def test_a_connection_dripping_its_body_gets_408_and_is_closed(sut: System) -> None:
    head = b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    answer = await raw(sut, head + b"Content-Length: 500\r\n\r\n", drip=b"a" * 500)
    assert b" 408 " in answer.split(b"\r\n", 1)[0], answer[:80]
    assert b"did not arrive in time" in answer


async def test_a_second_request_dripped_on_a_kept_alive_connection_is_closed_too(sut: System) -> None:
    """The header timer starts again at a later request's first byte (the idle timeout is 75 s here,
    so a close within the 15 s bound can only be the header timeout)."""
    first = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    answer = await raw(sut, first + b"G", drip=b"ET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100)
    assert answer.count(b"HTTP/1.1 200") == 1  # the first request was answered, the dripped one never


async def test_an_idle_kept_alive_connection_is_not_closed_by_the_header_timeout(sut: System) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", sut.settings.http_port)
    try:
        for _ in range(2):
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            assert head.startswith(b"HTTP/1.1 200")
            length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            await asyncio.sleep(1.5)  # idle longer than the 1 s header timeout: still open after
    finally:
        writer.close()


async def test_a_malformed_multipart_body_is_400_not_500(sut: System) -> None:
    """Found by schemathesis: a part header that is not a header made aiohttp raise InvalidHeader."""
    http, _ = await signed_in_client(sut)
    body = b"--b\r\n_\x0b\x14\x1c\x03\r\n\r\nx\r\n--b--\r\n"
    headers = {"Content-Type": "multipart/form-data; boundary=b"}
    async with http:
        for method, path in (
            ("POST", "/settings/developer/oauth-apps"),
            ("PUT", "/api/v1/oauth-apps/x/logo"),
        ):
            async with http.request(method, sut.url(path), data=body, headers=headers) as resp:
                assert resp.status == 400, (method, path, resp.status)
