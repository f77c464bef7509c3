"""Gateway routes: the token endpoint (RFC 6749 §3.2), introspection (RFC 7662) and the authorization
server metadata (RFC 8414). HTTP only: parse the form, extract the client's credentials, ask the token
service over the bus, answer with ``Cache-Control: no-store``. Errors render in the middleware.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Final, TypeVar
from urllib.parse import unquote

from aiohttp import web

from services.gateway import limits, ratelimit
from services.gateway.keys import BUS, CATALOG, REQUEST_ID, SETTINGS, TOKEN_BATCH
from services.gateway.oidc_metadata import oidc_metadata
from services.gateway.rendering import json_response
from shared import subjects
from shared.client_auth import ClientCredentials, extract_client_credentials
from shared.errors import InvalidClient, InvalidClientBasic, InvalidRequest
from shared.messages.token import (
    ExchangeTokenRequest,
    Introspection,
    IntrospectTokenRequest,
)

T = TypeVar("T")

routes = web.RouteTableDef()

FORM: Final = "application/x-www-form-urlencoded"
MAX_FORM_BYTES: Final = 16 * 1024
MAX_FORM_FIELDS: Final = 32
NO_STORE: Final = {"Cache-Control": "no-store", "Pragma": "no-cache"}
AUTH_METHODS: Final = ["client_secret_basic", "client_secret_post"]
# A public app authenticates with its client_id alone (RFC 6749 §2.1, §3.2.1; RFC 7009 §2.1); introspection
# requires a confidential client (RFC 7662 §2.1), so it stays without "none".
PUBLIC_AUTH_METHODS: Final = [*AUTH_METHODS, "none"]
Form = dict[str, list[str]]
NOT_UTF8_FORM: Final = "the request body is not valid UTF-8 form encoding"


async def read_form(request: web.Request) -> Form:
    """The urlencoded body as name -> values (empty values dropped: RFC 6749 §3.1 treats them as absent)."""
    if request.content_type != FORM:
        raise InvalidRequest(f"the request body must be {FORM}")
    if (request.content_length or 0) > MAX_FORM_BYTES:
        raise InvalidRequest("the request body is too large")
    body = await request.read()
    limits.check_field_count(body)  # the request-limits middleware leaves these forms to us
    form = parse_form_body(body)
    limits.check_field_lengths((value for values in form.values() for value in values), limits.DEFAULT_FIELD)
    return form


def parse_form_body(body: bytes) -> Form:
    """``application/x-www-form-urlencoded`` bytes as name -> values; ``InvalidRequest`` for anything
    that is not (too large, too many fields, not UTF-8 after percent-decoding).

    The same result as ``urllib.parse.parse_qsl(..., errors="strict")`` (``test_hostile_inputs`` checks
    it against the stdlib), with percent-decoding only for the parts that hold a ``%`` or a ``+``:
    names and token values are plain ASCII, so most parts are taken as they are."""
    if len(body) > MAX_FORM_BYTES:
        raise InvalidRequest("the request body is too large")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest(NOT_UTF8_FORM) from None
    parts = text.split("&")
    if len(parts) > MAX_FORM_FIELDS:
        raise InvalidRequest(f"the request body may have at most {MAX_FORM_FIELDS} fields")
    form: Form = {}
    for part in parts:
        name, eq, value = part.partition("=")
        if not eq or not value:
            continue  # "name" and "name=": absent (RFC 6749 §3.1), as parse_qsl drops them
        form.setdefault(_decoded(name), []).append(_decoded(value))
    return form


def _decoded(part: str) -> str:
    if "%" not in part and "+" not in part:
        return part
    try:
        return unquote(part.replace("+", " "), errors="strict")
    except UnicodeDecodeError:
        raise InvalidRequest(NOT_UTF8_FORM) from None


def single(form: Form, name: str) -> str:
    """One parameter's value ("" when absent); a repeated parameter is ``invalid_request`` (§3.1)."""
    values = form.get(name)
    if not values:
        return ""
    if len(values) > 1:
        raise InvalidRequest(f"{name} must not be included more than once")
    return values[0]


async def ask_token_service(
    request: web.Request, subject: str, payload: Any, reply_type: type[T], creds: ClientCredentials
) -> T:
    """One bus request, answered as ``token_service_answer`` says."""
    bus = request.app[BUS]
    asked = bus.request(subject, payload, reply_type, request_id=request[REQUEST_ID])
    return await token_service_answer(request, asked, creds)


async def token_service_answer(request: web.Request, asked: Awaitable[T], creds: ClientCredentials) -> T:
    """The token service's answer to ``asked``; a client that authenticated with HTTP Basic gets
    ``WWW-Authenticate: Basic``.

    Always asked, whatever was counted before: the right secret is never refused. An ``invalid_client``
    answer counts as a failure of the client id from this address, answered 429 past its limit
    (``ratelimit``).
    """
    try:
        return await asked
    except InvalidClient as exc:
        over = await ratelimit.client_auth_failed(request, creds.client_id)
        if over is not None:
            raise over from None
        if creds.method == "client_secret_basic" and not isinstance(exc, InvalidClientBasic):
            raise InvalidClientBasic(exc.description) from None
        raise


async def client_credentials(request: web.Request, form: Form) -> ClientCredentials:
    """The client's credentials (RFC 6749 §2.3.1); malformed or missing ones count as a failed
    authentication of the address (there is no client id to count them on)."""
    try:
        return extract_client_credentials(request.headers.get("Authorization"), form)
    except InvalidClient:
        over = await ratelimit.client_auth_failed(request, "")
        if over is not None:
            raise over from None
        raise


async def token_about_request(request: web.Request, request_type: type[T]) -> tuple[T, ClientCredentials]:
    """A client's authenticated request about one token (introspection, revocation): the form's
    ``token`` (required) and ``token_type_hint``, with the client's credentials."""
    form = await read_form(request)
    creds = await client_credentials(request, form)
    token_value = single(form, "token")
    if not token_value:
        raise InvalidRequest("token is required")
    req = request_type(
        client_id=creds.client_id,  # type: ignore[call-arg]
        client_secret=creds.client_secret,
        token=token_value,
    )
    return req, creds


@routes.post("/oauth/token")
async def token(request: web.Request) -> web.Response:
    """Access token request (RFC 6749 §4.1.3, §6); success is §5.1 exactly."""
    form = await read_form(request)
    creds = await client_credentials(request, form)
    req = ExchangeTokenRequest(
        client_id=creds.client_id,
        client_secret=creds.client_secret,
        grant_type=single(form, "grant_type"),
        code=single(form, "code"),
        redirect_uri=single(form, "redirect_uri"),
        code_verifier=single(form, "code_verifier"),
        refresh_token=single(form, "refresh_token"),
        scope=single(form, "scope"),
        device_code=single(form, "device_code"),
    )
    # many requests per bus message (``token_batch``): answered and refused each as a single one
    asked = request.app[TOKEN_BATCH].exchange(req, request[REQUEST_ID])
    reply = await token_service_answer(request, asked, creds)
    return json_response(reply, headers=NO_STORE)


@routes.post("/oauth/introspect")
async def introspect(request: web.Request) -> web.Response:
    """Introspection (RFC 7662 §2.1) of the calling client's own tokens."""
    req, creds = await token_about_request(request, IntrospectTokenRequest)
    reply = await ask_token_service(request, subjects.TOKEN_INTROSPECT, req, Introspection, creds)
    return json_response(reply, headers=NO_STORE)


@routes.get("/.well-known/oauth-authorization-server")
async def metadata(request: web.Request) -> web.Response:
    """Authorization server metadata (RFC 8414 §2, §3)."""
    base = request.app[SETTINGS].public_url
    body = {
        "issuer": base,
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "introspection_endpoint": f"{base}/oauth/introspect",
        "device_authorization_endpoint": f"{base}/oauth/device_authorization",  # RFC 8628 §4
        "scopes_supported": list(request.app[CATALOG].names()),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code",
        ],
        "token_endpoint_auth_methods_supported": PUBLIC_AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": PUBLIC_AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,  # RFC 9207 §3
    }
    body |= oidc_metadata(base)  # OpenID Connect Discovery 1.0 §3: one document for both
    return json_response(body, headers={"Cache-Control": "public, max-age=300"})
