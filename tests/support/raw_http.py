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
