"""Your App: an example third-party web app that connects to Mavio the way the integration guide
says (``docs/integration-guide.md``); ``make demo`` starts it.

- Authlib (``AsyncOAuth2Client``) runs the authorization code flow with PKCE S256 and a random
  ``state`` that the callback checks; endpoints come from the RFC 8414 metadata.
- The code is exchanged server-side with the client secret; tokens stay on the server (the
  browser holds only an opaque session cookie).
- The access token is refreshed shortly before it expires, and once more if the API answers 401;
  when the refresh token is refused too (the user revoked the app), the user is asked to reconnect.
- ``access_denied`` and an expired or revoked grant get a friendly page with a button.
- **Disconnect** revokes the refresh token at Mavio (RFC 7009, the metadata's ``revocation_endpoint``),
  which ends the whole grant (every token of it), so Your App leaves the user's Connected apps; only then
  are the tokens forgotten. If Mavio cannot be reached, nothing is forgotten and the user may try again.
- **Sign in with Mavio** (OpenID Connect: discovery, nonce, the ID token checked against the JWKS,
  UserInfo, and Sign out through Mavio's logout) is ``examples.your_app_sign_in``.
- Mavio's webhooks (``examples/your_app_webhooks.py``): on ``authorization.revoked`` (verified with the
  ``standardwebhooks`` library) Your App deletes what it stored for that user and says so on their next visit.
- Dates are shown for people ("Tue 1 Dec 2026, 09:00 UTC"), not as ISO strings.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import httpx
import jinja2
from aiohttp import web
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError as AuthlibError

from examples import your_app_webhooks
from examples.your_app_pages import PAGES

with warnings.catch_warnings():
    # Authlib 1.9 prefers the httpx2 package and, finding the httpx pinned here, warns at import that
    # its fallback is deprecated. The warning is about Authlib's plans, not this app, and it came
    # before every line `make demo` prints, its one-line errors included.
    warnings.filterwarnings("ignore", "The httpx module is deprecated", DeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

SCOPE = "meetings:read users:read"
COOKIE = "yourapp_session"


@dataclass(frozen=True)
class Config:
    mavio_url: str  # the issuer, e.g. http://127.0.0.1:8080
    client_id: str
    client_secret: str
    redirect_uri: str  # e.g. http://127.0.0.1:8090/callback (registered with the app)
    api_url: str  # the Meetings API, e.g. http://127.0.0.1:8091
    refresh_leeway: int = 30  # refresh this many seconds before the access token expires
    webhook_secret: str = ""  # the app's webhook signing secret ("" = no webhooks received)

    @property
    def home_url(self) -> str:
        """This app's home page: also its registered post-logout redirect URI (Sign out)."""
        return self.redirect_uri.rsplit("/", 1)[0] + "/"

    @property
    def sign_in_redirect_uri(self) -> str:
        """Sign in with Mavio's callback (``examples.your_app_sign_in``), registered too."""
        return self.home_url + "signed-in"


@dataclass
class Visitor:
    """Server-side state of one browser: the pending request and the tokens (never sent to it)."""

    state: str = ""
    verifier: str = ""
    token: dict[str, Any] | None = None
    refreshes: int = 0
    refreshes_after_401: int = 0
    # Sign in with Mavio (``examples.your_app_sign_in``): the pending request, then who signed in
    sign_in_state: str = ""
    sign_in_verifier: str = ""
    nonce: str = ""
    person: dict[str, Any] | None = None
    sub: str = ""  # the Mavio user, as the Meetings API names them
    meetings: list[dict[str, Any]] = field(default_factory=list)  # what Your App keeps of theirs
    deleted_by_mavio: bool = False  # Mavio said the user revoked Your App: their data was deleted


@dataclass
class YourApp:
    config: Config
    visitors: dict[str, Visitor] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    oidc: dict[str, Any] = field(default_factory=dict)  # OpenID Connect discovery
    jwks: dict[str, Any] = field(default_factory=dict)  # Mavio's public keys (fetched again on a new kid)

    def forget_user(self, sub: str) -> int:
        """Delete everything kept for Mavio user ``sub`` (every browser of theirs); how many there were."""
        mine = [v for v in self.visitors.values() if v.sub == sub]
        for visitor in mine:
            visitor.token, visitor.meetings, visitor.deleted_by_mavio = None, [], True
        return len(mine)

    def client(self, visitor: Visitor) -> AsyncOAuth2Client:
        return self.oauth_client(visitor.token)

    def oauth_client(
        self, token: dict[str, Any] | None, *, scope: str = SCOPE, redirect_uri: str = ""
    ) -> AsyncOAuth2Client:
        """Authlib's client for this app (Connect's scope and callback unless told otherwise)."""
        return AsyncOAuth2Client(
            client_id=self.config.client_id,
            client_secret=self.config.client_secret,
            scope=scope,
            redirect_uri=redirect_uri or self.config.redirect_uri,
            token_endpoint_auth_method="client_secret_basic",
            code_challenge_method="S256",
            token=token,
        )

    async def endpoints(self) -> dict[str, Any]:
        """RFC 8414 metadata (fetched once)."""
        if not self.metadata:
            self.metadata = await self.well_known("oauth-authorization-server")
        return self.metadata

    async def well_known(self, name: str) -> dict[str, Any]:
        """Mavio's ``/.well-known/<name>`` document (RFC 8615)."""
        async with httpx.AsyncClient() as http:
            resp = await http.get(self.config.mavio_url.rstrip("/") + "/.well-known/" + name)
        resp.raise_for_status()
        document: dict[str, Any] = resp.json()
        return document


APP = web.AppKey("your_app", YourApp)
VISITOR = web.RequestKey("visitor_id", str)
RECEIVER = web.AppKey("webhooks", your_app_webhooks.Receiver)
routes = web.RouteTableDef()
_pages = jinja2.Environment(loader=jinja2.DictLoader(PAGES), autoescape=True)


def for_people(iso: str) -> str:
    """An RFC 3339 time as people read it, in UTC: ``Tue 1 Dec 2026, 09:00 UTC`` (as is when unreadable)."""
    try:
        when = dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(dt.UTC)
    except ValueError:
        return iso
    return f"{when:%a} {when.day} {when:%b %Y, %H:%M} UTC"


_pages.filters["for_people"] = for_people


def page(name: str, status: int = 200, **context: Any) -> web.Response:
    html = _pages.get_template(name).render(context)
    return web.Response(
        text=html, content_type="text/html", status=status, headers={"Cache-Control": "no-store"}
    )


def see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


def visitor_of(request: web.Request) -> tuple[str, Visitor]:
    app = request.app[APP]
    sid = request.cookies.get(COOKIE, "")
    if sid not in app.visitors:
        sid = secrets.token_urlsafe(24)
        app.visitors[sid] = Visitor()
    return sid, app.visitors[sid]


def with_cookie(resp: web.StreamResponse, sid: str) -> web.StreamResponse:
    resp.set_cookie(COOKIE, sid, httponly=True, samesite="Lax", path="/")
    return resp


@routes.get("/")
async def home(request: web.Request) -> web.StreamResponse:
    sid, visitor = visitor_of(request)
    disconnected = visitor.token is None and request.query.get("disconnected") == "1"
    context: dict[str, Any] = {"connected": visitor.token is not None, "disconnected": disconnected}
    context |= {"person": visitor.person, "deleted_by_mavio": visitor.deleted_by_mavio}
    return with_cookie(page("home.html", **context), sid)


@routes.get("/favicon.ico")
async def favicon(_: web.Request) -> web.Response:
    """Browsers ask every site for it: no icon (204), rather than a 404 in the console."""
    return web.Response(status=204)


@routes.post("/connect")
async def connect(request: web.Request) -> web.StreamResponse:
    """Start the flow: a fresh state and PKCE verifier, kept server-side; then off to Mavio."""
    sid, visitor = visitor_of(request)
    endpoints = await request.app[APP].endpoints()
    visitor.verifier = generate_token(64)
    client = request.app[APP].client(visitor)
    url, visitor.state = client.create_authorization_url(
        endpoints["authorization_endpoint"], code_verifier=visitor.verifier, state=generate_token(32)
    )
    return with_cookie(see_other(url), sid)


@routes.get("/callback")
async def callback(request: web.Request) -> web.StreamResponse:
    sid, visitor = visitor_of(request)
    expected, visitor.state = visitor.state, ""  # a state is good for one callback only
    got = request.query.get("state", "")
    if not expected or not secrets.compare_digest(got.encode(), expected.encode()):
        text = "The request did not start here or was already used. Please connect again."
        return with_cookie(page("problem.html", 400, title="That link is not ours", text=text), sid)
    issuer = (await request.app[APP].endpoints())["issuer"]
    if request.query.get("iss", issuer) != issuer:  # RFC 9207: a response from another server
        return with_cookie(
            page("problem.html", 400, title="That answer is not from Mavio", text="Please connect again."),
            sid,
        )
    if request.query.get("error") == "access_denied":
        return with_cookie(page("denied.html"), sid)
    if "error" in request.query or "code" not in request.query:
        text = f"Mavio answered: {request.query.get('error', 'no code')}. Please try again."
        return with_cookie(page("problem.html", 400, title="Connecting failed", text=text), sid)
    app = request.app[APP]
    endpoints = await app.endpoints()
    async with app.client(visitor) as client:
        visitor.token = dict(
            await client.fetch_token(
                endpoints["token_endpoint"],
                grant_type="authorization_code",
                code=request.query["code"],
                code_verifier=visitor.verifier,
            )
        )
    visitor.verifier = ""
    return with_cookie(see_other("/meetings"), sid)


class Reconnect(Exception):
    """The grant is gone (revoked, expired): only a new authorization helps."""


async def _refresh(app: YourApp, visitor: Visitor) -> None:
    assert visitor.token is not None
    endpoints = await app.endpoints()
    async with app.client(visitor) as client:
        try:
            token = await client.refresh_token(
                endpoints["token_endpoint"], refresh_token=visitor.token["refresh_token"]
            )
        except AuthlibError as exc:  # invalid_grant: revoked, expired, or reused
            visitor.token = None
            raise Reconnect(str(exc)) from exc
    visitor.token = dict(token)
    visitor.refreshes += 1


async def call_api(app: YourApp, visitor: Visitor, path: str) -> dict[str, Any]:
    """GET the Meetings API with the access token: refreshed before expiry, and once on a 401."""
    if visitor.token is None:
        raise Reconnect("not connected")
    if visitor.token.get("expires_at", 0) - app.config.refresh_leeway <= time.time():
        await _refresh(app, visitor)
    for attempt in (1, 2):
        assert visitor.token is not None
        headers = {"Authorization": f"Bearer {visitor.token['access_token']}"}
        async with httpx.AsyncClient() as http:
            resp = await http.get(app.config.api_url.rstrip("/") + path, headers=headers)
        if resp.status_code != 401 or attempt == 2:
            break
        await _refresh(app, visitor)  # expired early, or revoked: one refresh, one retry
        visitor.refreshes_after_401 += 1
    if resp.status_code == 401:
        visitor.token = None
        raise Reconnect("the API refused the token")
    resp.raise_for_status()
    result: dict[str, Any] = resp.json()
    return result


@routes.get("/meetings")
async def meetings(request: web.Request) -> web.StreamResponse:
    sid, visitor = visitor_of(request)
    if visitor.token is None:
        return with_cookie(see_other("/"), sid)
    try:
        data = await call_api(request.app[APP], visitor, "/meetings")
    except Reconnect:
        return with_cookie(page("reconnect.html"), sid)
    visitor.sub, visitor.meetings, visitor.deleted_by_mavio = data["user"], data["meetings"], False
    return with_cookie(page("meetings.html", meetings=visitor.meetings, refreshes=visitor.refreshes), sid)


async def revoke_grant(app: YourApp, visitor: Visitor) -> None:
    """RFC 7009: revoke the refresh token (Mavio then revokes every token of the grant); the access
    token alone when there is no refresh token. Raises ``httpx.HTTPError`` when Mavio cannot say yes."""
    assert visitor.token is not None
    token = visitor.token.get("refresh_token") or visitor.token["access_token"]
    hint = "refresh_token" if visitor.token.get("refresh_token") else "access_token"
    endpoint = (await app.endpoints())["revocation_endpoint"]
    async with app.client(visitor) as client:
        resp = await client.revoke_token(endpoint, token=token, token_type_hint=hint)
    resp.raise_for_status()  # 200 also for a token that was already revoked or expired (§2.2)


@routes.post("/disconnect")
async def disconnect(request: web.Request) -> web.StreamResponse:
    """End the grant at Mavio first, then forget the tokens (``docs/integration-guide.md``)."""
    sid, visitor = visitor_of(request)
    if visitor.token is not None:
        try:
            await revoke_grant(request.app[APP], visitor)
        except httpx.HTTPError:
            text = (
                "Mavio could not be reached to end Your App's access. Nothing was changed; please try again."
            )
            return with_cookie(page("problem.html", 502, title="Not disconnected yet", text=text), sid)
        visitor.token = None
    return with_cookie(see_other("/?disconnected=1"), sid)


def create_app(config: Config) -> web.Application:
    from examples import your_app_sign_in  # it builds on this module

    app = web.Application()
    app[APP] = YourApp(config)
    app.router.add_routes(routes)
    app.router.add_routes(your_app_sign_in.routes)
    receiver = your_app_webhooks.Receiver(config.webhook_secret, app[APP].forget_user)
    app[RECEIVER] = receiver
    app.router.add_post(your_app_webhooks.PATH, receiver.handle)
    return app
