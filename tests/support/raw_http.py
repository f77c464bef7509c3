"""Raw HTTP over a socket, for what an HTTP client library will not send (huge or dripped headers)."""

from __future__ import annotations

import asyncio


async def raw(port: int, data: bytes, *, drip: bytes = b"", every: float = 0.2, limit: float = 15.0) -> bytes:
    """Send ``data`` to 127.0.0.1:``port``, then ``drip`` one byte every ``every`` seconds; the bytes the
    server sent before closing. Bounded: fails after ``limit`` seconds if the server never closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)

    async def dripping() -> None:
        for byte in drip:
            await asyncio.sleep(every)
            writer.write(bytes([byte]))
            await writer.drain()

    task = asyncio.create_task(dripping())
    try:
        return await asyncio.wait_for(reader.read(-1), limit)
    finally:
        task.cancel()
        writer.close()


async def one_response_then(
    port: int, data: bytes, then: bytes, *, limit: float = 15.0
) -> tuple[bytes, bytes]:
    """Send ``data``, read one whole response (headers and its ``Content-Length`` body), send ``then``
    (a write the server refuses is ignored), and return that response and everything the server sent
    after it before closing. Bounded: fails after ``limit`` seconds if the server never closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), limit)
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        first = head + await asyncio.wait_for(reader.readexactly(length), limit)
        try:
            writer.write(then)
            await writer.drain()
        except ConnectionError:
            pass  # closed by the server: what it sent is still read below
        try:
            rest = await asyncio.wait_for(reader.read(-1), limit)
        except ConnectionResetError:
            rest = b""
        return first, rest
    finally:
        writer.close()
