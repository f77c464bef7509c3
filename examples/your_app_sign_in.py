"""Your App's **Sign in with Mavio**: OpenID Connect with Authlib, as the integration guide says
(``docs/integration-guide.md``, "OpenID Connect").

- Discovery: the endpoints come from ``/.well-known/openid-configuration`` (fetched once).
- Authlib's ``AsyncOAuth2Client`` sends the user to Mavio with ``scope=openid profile email``, PKCE
  S256, a random ``state`` and a random ``nonce``, all kept server-side.
- The callback checks ``state`` and ``iss`` (RFC 9207), exchanges the code with the client secret, then
  validates the ID token as Authlib's OpenID clients do: its signature against the keys at ``jwks_uri``
  (joserfc, fetched again once when the ``kid`` is new: Mavio rotated its keys), then its claims with
  ``authlib.oidc.core.CodeIDToken`` (``iss``, ``aud``, ``exp``, ``iat``, ``nonce``, ``at_hash``).
- UserInfo (``userinfo_endpoint``) gives the name and email; its ``sub`` must be the ID token's.
  The person is identified by ``sub``, never by the email (``email_verified`` is false).
- **Sign out** forgets the person here, then sends the browser to Mavio's ``end_session_endpoint`` with
  ``id_token_hint``, ``post_logout_redirect_uri`` (this app's home page, registered) and ``state``.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx
from aiohttp import web
from authlib.common.security import generate_token
from authlib.oidc.core import CodeIDToken, UserInfo
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from examples.your_app import (
    APP,
    Visitor,
    YourApp,
    page,
    see_other,
    visitor_of,
    with_cookie,
)

if TYPE_CHECKING:
    from authlib.integrations.httpx_client import AsyncOAuth2Client

SIGN_IN_SCOPE = "openid profile email"
routes = web.RouteTableDef()


class SignInFailed(Exception):
    """The answer or the ID token did not check out: the user is not signed in."""


async def discovery(app: YourApp) -> dict[str, Any]:
    """OpenID Connect Discovery 1.0 §4 (fetched once)."""
    if not app.oidc:
        app.oidc = await app.well_known("openid-configuration")
    return app.oidc


def sign_in_client(app: YourApp, token: dict[str, Any] | None = None) -> AsyncOAuth2Client:
    return app.oauth_client(token, scope=SIGN_IN_SCOPE, redirect_uri=app.config.sign_in_redirect_uri)


@routes.post("/sign-in")
async def sign_in(request: web.Request) -> web.StreamResponse:
    sid, visitor = visitor_of(request)
    metadata = await discovery(request.app[APP])
    visitor.sign_in_verifier, visitor.nonce = generate_token(64), generate_token(32)
    url, visitor.sign_in_state = sign_in_client(request.app[APP]).create_authorization_url(
        metadata["authorization_endpoint"],
        code_verifier=visitor.sign_in_verifier,
        state=generate_token(32),
        nonce=visitor.nonce,
    )
    return with_cookie(see_other(url), sid)


@routes.get("/signed-in")
async def signed_in(request: web.Request) -> web.StreamResponse:
    sid, visitor = visitor_of(request)
    app = request.app[APP]
    try:
        visitor.person = await _signed_in(app, visitor, request.query)
    except SignInFailed as exc:
        return with_cookie(page("problem.html", 400, title="Signing in failed", text=str(exc)), sid)
    finally:
        visitor.sign_in_state = visitor.sign_in_verifier = visitor.nonce = ""  # one callback only
    return with_cookie(see_other("/"), sid)


async def _signed_in(app: YourApp, visitor: Visitor, query: Any) -> dict[str, Any]:
    expected, got = visitor.sign_in_state, query.get("state", "")
    if not expected or not secrets.compare_digest(got.encode(), expected.encode()):
        raise SignInFailed("The request did not start here or was already used. Please sign in again.")
    metadata = await discovery(app)
    if query.get("iss") != metadata["issuer"]:  # RFC 9207: Mavio always says who answered
        raise SignInFailed("That answer is not from Mavio. Please sign in again.")
    if "code" not in query:
        raise SignInFailed(f"Mavio answered: {query.get('error', 'no code')}. Please try again.")
    async with sign_in_client(app) as client:
        token = dict(
            await client.fetch_token(
                metadata["token_endpoint"],
                grant_type="authorization_code",
                code=query["code"],
                code_verifier=visitor.sign_in_verifier,
            )
        )
    claims = await id_token_claims(app, token, nonce=visitor.nonce)
    async with sign_in_client(app, token) as client:
        resp = await client.get(metadata["userinfo_endpoint"])
    resp.raise_for_status()
    info = UserInfo(resp.json())
    if info.get("sub") != claims["sub"]:  # OpenID Connect Core §5.3.4
        raise SignInFailed("Mavio's UserInfo named another user. Please sign in again.")
    return {**dict(info), "id_token": token["id_token"]}


async def id_token_claims(app: YourApp, token: dict[str, Any], *, nonce: str) -> dict[str, Any]:
    """The ID token's claims once its signature (``jwks_uri``) and claims (Core §3.1.3.7) check out."""
    metadata = await discovery(app)
    registry = JWSRegistry(algorithms=metadata["id_token_signing_alg_values_supported"])
    try:
        try:
            decoded = jwt.decode(token["id_token"], await _keys(app), registry=registry)
        except InvalidKeyIdError:  # a key newer than the JWKS we hold: Mavio rotated
            app.jwks = {}
            decoded = jwt.decode(token["id_token"], await _keys(app), registry=registry)
        options = {"iss": {"essential": True, "value": metadata["issuer"]}}
        params = {"nonce": nonce, "client_id": app.config.client_id, "access_token": token["access_token"]}
        claims = CodeIDToken(decoded.claims, decoded.header, options, params)
        claims.validate(leeway=60)
    except (JoseError, ValueError) as exc:
        raise SignInFailed(f"Mavio's ID token did not check out ({exc}). Please sign in again.") from exc
    return dict(claims)


async def _keys(app: YourApp) -> KeySet:
    if not app.jwks:
        async with httpx.AsyncClient() as http:
            resp = await http.get((await discovery(app))["jwks_uri"])
            resp.raise_for_status()
            app.jwks = resp.json()
    return KeySet.import_key_set(app.jwks)  # type: ignore[arg-type]


@routes.post("/sign-out")
async def sign_out(request: web.Request) -> web.StreamResponse:
    """Forget the person here, then end the Mavio session too (RP-Initiated Logout 1.0)."""
    sid, visitor = visitor_of(request)
    person, visitor.person = visitor.person, None
    if person is None:
        return with_cookie(see_other("/"), sid)
    end_session = (await discovery(request.app[APP]))["end_session_endpoint"]
    query = {
        "id_token_hint": person["id_token"],
        "post_logout_redirect_uri": request.app[APP].config.home_url,
        "state": generate_token(16),
    }
    return with_cookie(see_other(end_session + "?" + urlencode(query)), sid)
