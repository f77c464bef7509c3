"""A ``multipart/form-data`` body read as the form ``request.post()`` returns, without decoding any
part's ``Content-Encoding``.

aiohttp's ``request.post()`` inflates a part sent with ``Content-Encoding: gzip`` (into a temporary
file, without a bound: a 4 MiB part can be gigabytes), and answers an unknown coding with a 500. RFC
7578 §4.8 gives form parts no content coding, so one is refused here (415) before anything is read.
Parts are read as sent (``read_chunk``: no transfer decoding either), under the body limit that
``server.limit_body`` enforces on the bytes as they arrive. The result is cached on the request, so
the handler's own ``request.post()`` gets it without reading the body again.
"""

from __future__ import annotations

import io

from aiohttp import BodyPartReader, hdrs, web
from multidict import MultiDict, MultiDictProxy

from shared.errors import InvalidRequest, PayloadTooLarge, UnsupportedEncoding

Value = str | bytes | bytearray | web.FileField


def _check_part(part: BodyPartReader) -> None:
    for header in (hdrs.CONTENT_ENCODING, hdrs.CONTENT_TRANSFER_ENCODING):
        coding = part.headers.get(header, "").strip().lower()
        if coding and coding not in ("identity", "binary", "8bit", "7bit"):
            raise UnsupportedEncoding(f"a form field must be sent without a {header}", content_coding=True)
    if part.name is None:
        raise InvalidRequest("a form field has no name")


async def _value(part: BodyPartReader) -> Value:
    data = bytearray()
    while chunk := await part.read_chunk():
        data.extend(chunk)
    ctype = part.headers.get(hdrs.CONTENT_TYPE)
    if part.filename:
        name = part.name or ""
        return web.FileField(
            name, part.filename, io.BytesIO(data), ctype or "application/octet-stream", part.headers
        )
    if ctype is None or ctype.startswith("text/"):
        return data.decode(part.get_charset(default="utf-8"))  # LookupError, ValueError: the caller's
    return data


async def read(request: web.Request, max_fields: int) -> MultiDictProxy[Value]:
    """The form; ``UnsupportedEncoding`` for a coded part (415), ``InvalidRequest`` for a nested
    multipart (400), ``PayloadTooLarge`` past ``max_fields`` fields (413); aiohttp's ``ValueError``
    or ``HttpProcessingError`` for a malformed body."""
    form: MultiDict[Value] = MultiDict()
    reader = await request.multipart()
    async for part in reader:
        if not isinstance(part, BodyPartReader):
            raise InvalidRequest("a form field may not be multipart itself")
        if len(form) >= max_fields:
            raise PayloadTooLarge(f"a form may have at most {max_fields} fields")
        _check_part(part)
        form.add(part.name or "", await _value(part))
    proxy = MultiDictProxy(form)
    request._post = proxy  # what request.post() returns from now on (aiohttp caches it there)
    return proxy
