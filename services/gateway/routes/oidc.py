"""Gateway routes of OpenID Connect: discovery (Discovery 1.0 §4), the JWKS (RFC 7517 §5) and UserInfo
(Core 1.0 §5.3). HTTP only: the token service answers UserInfo over the bus; the JWKS is read from
the signing key set in Redis (public keys only). Errors render in the middleware (RFC 6750 §3
challenges included).
"""

from __future__ import annotations

import time
from typing import Any, Final

from aiohttp import web

from services.gateway.keys import BUS, REQUEST_ID, SETTINGS, redis_of
from services.gateway.oidc_metadata import JWKS_PATH, USERINFO_PATH
from services.gateway.rendering import json_response
from services.gateway.routes.token import FORM, NO_STORE, metadata, read_form, single
from shared import subjects
from shared.errors import BearerTokenRequired, InvalidRequest, TemporarilyUnavailable
from shared.messages.token import UserInfoRequest
from shared.signing.keyset import published
from shared.signing.store import SigningKeyStore

routes = web.RouteTableDef()

# A relying party may cache the JWKS this long. Rotation never outruns it: a key is published as
# ``next`` for a whole rotation period before it signs, a retired key stays published until every ID
# token it signed has expired, and a relying party meeting an unknown ``kid`` fetches the set again.
# Five minutes keeps that re-fetch rare without making a newly published key wait long to be seen
# (rotate no more often than this: ``docs/operations.md``, "Signing keys and rotation").
JWKS_MAX_AGE: Final = 300
JWKS_CACHE: Final = {"Cache-Control": f"public, max-age={JWKS_MAX_AGE}"}


@routes.get("/.well-known/openid-configuration")
async def openid_configuration(request: web.Request) -> web.StreamResponse:
    """OpenID Provider metadata (Discovery 1.0 §3, §4): the same document as RFC 8414's."""
    return await metadata(request)


@routes.get(JWKS_PATH)
async def jwks(request: web.Request) -> web.Response:
    """The public signing keys: current, next, and retired keys whose ID tokens may still be valid."""
    keyset = await SigningKeyStore(redis_of(request.app)).load()
    if keyset is None:  # no token service has started yet: there is no key to publish
        raise TemporarilyUnavailable("the signing keys are not ready yet")
    ttl = request.app[SETTINGS].id_token_lifetime
    body = published(keyset, now=int(time.time()), id_token_ttl=ttl)
    return json_response(body, headers=JWKS_CACHE)


@routes.get(USERINFO_PATH)
@routes.post(USERINFO_PATH)
async def userinfo(request: web.Request) -> web.Response:
    """UserInfo (Core 1.0 §5.3): the access token as a Bearer header (RFC 6750 §2.1) or, in a POST, the
    form field ``access_token`` (§2.2); never both."""
    token = await bearer_token(request)
    req = UserInfoRequest(token=token)
    body: dict[str, Any] = await request.app[BUS].request(
        subjects.TOKEN_USERINFO, req, dict, request_id=request[REQUEST_ID]
    )
    return json_response(body, headers=NO_STORE)


async def bearer_token(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    from_header = value.strip() if scheme.lower() == "bearer" else ""
    from_body = ""
    if request.method == "POST" and request.content_type == FORM:
        from_body = single(await read_form(request), "access_token")
    if from_header and from_body:
        raise InvalidRequest("the access token must be sent one way only (RFC 6750 §2)")
    token = from_header or from_body
    if not token:
        raise BearerTokenRequired("an access token is required")
    return token
