"""Request limits at the gateway, all well below the bus's 1 MB maximum message.

One middleware, run for every routed request before its handler:

- query string over ``MAX_QUERY`` bytes: 414; header fields over ``MAX_HEADER_BYTES`` in total: 431
  (single lines and the number of fields are capped by the HTTP parser: ``services.gateway.server``);
- body over the route's limit (``ROUTE_LIMITS``): 413, when declared (``Content-Length``) and on the
  bytes that actually arrive, chunked or not (``server.limit_body``); the connection is then closed;
- a body with a ``Content-Encoding`` (the gateway inflates nothing: ``server``) or a charset Python
  cannot decode: 415; a body that cannot be read (broken chunked framing) or decoded (not valid text
  in its charset): 400;
- urlencoded and multipart forms (outside the JSON API) are parsed here, once (the handler's
  ``request.post()`` gets the same result; a multipart part with a content coding is 415, never
  inflated: ``multipart_form``): more than ``MAX_FORM_FIELDS`` fields or a text field
  longer than the route's field limit: 413;
- a body that has not fully arrived ``MAVIO_HTTP_BODY_TIMEOUT`` seconds after its headers: 408, and the
  connection is closed (a client dripping its body cannot hold a connection open);
- the client's address (``request.remote``) is replaced by the one ``client_address`` finds behind
  MAVIO_TRUSTED_PROXIES, so rate limits count the real client.

Every refusal is an ``OAuthError``: JSON or an HTML page from the error middleware, never a 500.
"""

from __future__ import annotations

import asyncio
import codecs
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final

from aiohttp import hdrs, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError
from multidict import MultiDictProxy

from services.gateway import multipart_form
from services.gateway.client_address import client_address
from services.gateway.keys import SETTINGS, TRUSTED_PROXIES
from services.gateway.middleware import oauth_error_response
from services.gateway.server import limit_body, too_large
from shared.errors import (
    HeadersTooLarge,
    InvalidRequest,
    PayloadTooLarge,
    RequestTimeout,
    UnsupportedEncoding,
    UriTooLong,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

KIB: Final = 1024
MAX_QUERY: Final = 8 * KIB
MAX_HEADER_BYTES: Final = 32 * KIB
MAX_FORM_FIELDS: Final = 64
DEFAULT_BODY: Final = 16 * KIB  # sign-in, consent, token, revoke, introspect, confirmations
DEFAULT_FIELD: Final = 4 * KIB  # any one form value: tokens, codes, state (2048), redirect_uri
LOGO_BODY: Final = 4 * KIB * KIB  # app form, logo upload: a logo up to 4 MiB gets the inline "at most 1 MiB"
JSON_BODY: Final = 64 * KIB  # the apps API
LEAK_REPORT_BODY: Final = KIB * KIB  # a secret-scanning report (``routes.leaks``): at most 1 MiB
APP_FORM_FIELD: Final = 32 * KIB  # the app form's redirect URIs textarea (validation caps it lower)
APPS: Final = "/settings/developer/oauth-apps"
API: Final = "/api/v1/oauth-apps"

# (method, route) -> (body limit, form field limit); routes not listed get the defaults.
ROUTE_LIMITS: Final[dict[tuple[str, str], tuple[int, int]]] = {
    ("POST", APPS): (LOGO_BODY, APP_FORM_FIELD),
    ("POST", APPS + "/{client_id}/edit"): (LOGO_BODY, APP_FORM_FIELD),
    ("PUT", API + "/{client_id}/logo"): (LOGO_BODY, DEFAULT_FIELD),
    ("POST", API): (JSON_BODY, DEFAULT_FIELD),
    ("PATCH", API + "/{client_id}"): (JSON_BODY, DEFAULT_FIELD),
    ("POST", "/oauth/leaked-credentials"): (LEAK_REPORT_BODY, DEFAULT_FIELD),
}
FORMS: Final = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
# Routes whose handler reads its urlencoded body itself (``routes.token.read_form``, under these same
# limits, through ``check_field_count`` and ``check_field_lengths``): not parsed here a second time.
SELF_PARSED: Final = frozenset(
    {"/oauth/token", "/oauth/introspect", "/oauth/revoke", "/oauth/userinfo", "/oauth/device_authorization"}
)


def check_head(request: web.Request) -> None:
    """The request target and headers, before anything else is read."""
    if len(request.rel_url.raw_query_string) > MAX_QUERY:
        raise UriTooLong(f"the query string must be at most {MAX_QUERY} bytes")
    size = sum(len(name) + len(value) + 4 for name, value in request.raw_headers)
    if size > MAX_HEADER_BYTES:
        raise HeadersTooLarge(f"the request headers must be at most {MAX_HEADER_BYTES} bytes in total")


def check_encoding(request: web.Request) -> None:
    """A body as sent, in a charset we can decode: 415 for any content coding or an unknown charset."""
    if not request.body_exists:
        return
    coding = request.headers.get(hdrs.CONTENT_ENCODING, "").strip().lower()
    if coding and coding != "identity":
        raise UnsupportedEncoding("send the request body without a Content-Encoding", content_coding=True)
    charset = request.charset
    if charset and not _text_encoding(charset):
        raise UnsupportedEncoding("the request body's charset is not supported; send UTF-8")


def _text_encoding(name: str) -> bool:
    """A charset Python can decode text from ("base64" is a codec, but not a text encoding)."""
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return False
    return bool(getattr(info, "_is_text_encoding", True))


def _too_many_fields() -> PayloadTooLarge:
    return PayloadTooLarge(f"a form may have at most {MAX_FORM_FIELDS} fields")


def check_field_count(body: bytes) -> None:
    """An urlencoded body, before it is parsed: at most ``MAX_FORM_FIELDS`` fields."""
    if body.count(b"&") >= MAX_FORM_FIELDS:
        raise _too_many_fields()


def check_field_lengths(values: Iterable[object], field_limit: int) -> None:
    for value in values:
        if isinstance(value, str) and len(value) > field_limit:
            raise PayloadTooLarge(f"a form field may be at most {field_limit} characters")


def check_form(form: MultiDictProxy[Any], field_limit: int) -> None:
    if len(form) > MAX_FORM_FIELDS:
        raise _too_many_fields()
    check_field_lengths(form.values(), field_limit)


def _arm_body_timeout(request: web.Request, timeout: float) -> asyncio.TimerHandle | None:
    """Fail the body's reads with ``RequestTimeout`` if it is not complete after ``timeout`` seconds."""
    content = request.content
    if content.is_eof():
        return None

    def expire() -> None:
        if not content.is_eof():
            content.set_exception(RequestTimeout("the request body did not arrive in time"))

    handle = asyncio.get_running_loop().call_later(timeout, expire)
    content.on_eof(handle.cancel)
    return handle


def _with_client(request: web.Request, max_size: int) -> web.Request:
    trusted = request.app[TRUSTED_PROXIES]
    hops = request.headers.getall(hdrs.X_FORWARDED_FOR, [])
    remote = client_address(request.remote or "", hops, trusted)
    if remote == request.remote and max_size == request.client_max_size:
        return request  # nothing to change: a clone per request costs more than the rest of this check
    return request.clone(client_max_size=max_size, remote=remote)


def _route(request: web.Request) -> tuple[str, str]:
    resource = request.match_info.route.resource
    return request.method, resource.canonical if resource is not None else ""


async def _check_form(request: web.Request, field_limit: int) -> None:
    if request.content_type not in FORMS or not request.body_exists or request.path.startswith("/api/"):
        return  # the JSON API reads no forms (its logo upload streams its multipart body itself)
    if request.path in SELF_PARSED:
        return
    try:
        if request.content_type == "multipart/form-data":
            form = await multipart_form.read(request, MAX_FORM_FIELDS)
        else:
            form = await request.post()
    except LookupError:  # a multipart text part in a charset Python does not know
        raise UnsupportedEncoding("a form field's charset is not supported; send UTF-8") from None
    except (ValueError, HttpProcessingError):  # malformed multipart (part headers, boundary), not UTF-8
        raise InvalidRequest("the form body is malformed") from None
    check_form(form, field_limit)


@web.middleware
async def request_limits(request: web.Request, handler: Handler) -> web.StreamResponse:
    check_head(request)
    body_limit, field_limit = ROUTE_LIMITS.get(_route(request), (DEFAULT_BODY, DEFAULT_FIELD))
    if (request.content_length or 0) > body_limit:
        raise too_large(body_limit)
    check_encoding(request)
    limit_body(request, body_limit)
    request = _with_client(request, body_limit)
    timer = _arm_body_timeout(request, request.app[SETTINGS].http_body_timeout)
    try:
        await _check_form(request, field_limit)
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        raise too_large(body_limit) from None
    except RequestTimeout as exc:
        resp = oauth_error_response(request, exc)
        resp.force_close()  # what is left of the body is never read
        return resp
    except (RequestPayloadError, HttpProcessingError):  # the body's framing broke while it was read
        raise InvalidRequest("the request body is malformed") from None
    finally:
        if timer is not None:
            timer.cancel()
