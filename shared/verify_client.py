"""Bearer token verification for Mavio's resource servers: ``TokenVerifier`` and ``require_scopes``.

``TokenVerifier(nc).verify(token)`` asks the token service over the bus (``mavio.oauth.v1.token.verify``)
and returns its RFC 7662 answer. Malformed tokens are refused locally (shape and checksum).

Optional local cache (``cache_ttl`` > 0): active answers are kept at most ``cache_ttl`` seconds (never past
the token's ``exp``), and evicted the moment a revocation-kind event arrives on the bus (tokens revoked,
code or refresh reuse, scopes narrowed, grant expired, app deleted). An answer fetched while such an event
arrived is not cached; after a bus reconnect (events may have been missed) the cache is dropped; while
the bus is down nothing is served from it. Cache hits are reported to the token service in the
background so the app's API-call statistics stay exact.

``require_scopes("meetings:read")`` guards an aiohttp handler (RFC 6750 §3): no token -> 401 with a bare
``WWW-Authenticate: Bearer`` challenge; an inactive token -> 401 ``error="invalid_token"``; missing scopes
-> 403 ``error="insufficient_scope"``. The verifier lives in the app under ``VERIFIER``; the answer is put
in the request under ``TOKEN_INFO``.

The bus requires authentication: connect ``nc`` as your resource service's own bus user
(``shared.bus_auth.RESOURCE``; ``resource`` with ``make run``), e.g.
``nats.connect(url, user="resource", password=..., inbox_prefix="_INBOX.resource")``; it may request
token verification, report cached calls and receive the events of ``subjects.VERIFIER_EVENTS``, nothing
else. ``bus_options()`` gives those arguments from ``MAVIO_NATS_URL`` (+ ``MAVIO_NATS_USER``,
``MAVIO_NATS_PASSWORD``) or, when it is unset, from the running ``make run`` stack's ``resource.env``:
``nats.connect(**bus_options())``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import msgspec
import structlog
from aiohttp import web
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from shared import bus_auth, stack_file, subjects
from shared.bus import Bus
from shared.errors import InsufficientScope, InvalidRequest, InvalidToken, OAuthError
from shared.events import decode_event
from shared.messages import events as ev
from shared.messages.token import MAX_CALLS_PER_APP, Introspection, ReportCallsRequest, VerifyTokenRequest
from shared.metrics import CacheCounters
from shared.tasks import cancel_and_wait
from shared.tokens import parse

log = structlog.get_logger("mavio.verify_client")

INACTIVE = Introspection(active=False)
REALM = "mavio"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _Entry(msgspec.Struct, array_like=True):
    until: float  # time.monotonic() deadline
    family: str
    info: Introspection


class TokenVerifier:
    def __init__(
        self,
        nc: NATS,
        *,
        cache_ttl: float = 0.0,
        max_entries: int = 10_000,
        timeout: float = 2.0,
        report_interval: float = 1.0,
        report_max_apps: int = 1000,  # apps per calls report: at most the token service's setting
        counters: CacheCounters | None = None,  # hits and misses, with a cache (``shared.metrics``)
    ) -> None:
        self._counters = counters
        self._nc = nc
        self._bus = Bus(nc, timeout=timeout)
        self.cache_ttl = cache_ttl
        self._max_entries = max_entries
        self._report_interval = report_interval
        self._report_max_apps = report_max_apps
        self._cache: dict[str, _Entry] = {}
        self._by_family: dict[str, set[str]] = {}
        self._epoch = 0  # bumped by every eviction: a fetch that saw another epoch is not cached
        self._reconnects = 0
        self._hits: dict[str, int] = {}
        self._subs: list[Subscription] = []
        self._reporter: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Subscribe to the events that end or narrow a token (only needed with a cache): those of
        ``subjects.VERIFIER_EVENTS``, all a resource server's bus user may subscribe to."""
        if self.cache_ttl > 0 and not self._subs:
            self._reconnects = self._nc.stats["reconnects"]
            for subject in subjects.VERIFIER_EVENTS:
                self._subs.append(await self._nc.subscribe(subject, cb=self._on_event))
            await self._nc.flush()
            self._reporter = asyncio.create_task(self._report_loop(), name="mavio-verify-hits")

    async def close(self) -> None:
        if self._reporter is not None:
            await cancel_and_wait(self._reporter)
            await self._report_all()
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        self._subs = []
        self._reporter = None
        self.clear()

    async def verify(self, token: str) -> Introspection:
        """The token's RFC 7662 answer; raises ``TemporarilyUnavailable`` when the bus cannot answer."""
        hit = self._cached(token)  # first: a cached token was parsed when it was stored
        if self._counters is not None and self._subs:
            (self._counters.miss if hit is None else self._counters.hit).inc()
        if hit is not None:
            return hit
        parsed = parse(token, "at") if token else None
        if parsed is None:
            return INACTIVE
        epoch = self._epoch
        info = await self._bus.request(subjects.TOKEN_VERIFY, VerifyTokenRequest(token=token), Introspection)
        if info.active and self._subs and epoch == self._epoch:
            self._store(token, parsed.family, info)
        return info

    # ---- the cache -------------------------------------------------------------------------------

    def _cached(self, token: str) -> Introspection | None:
        if not self._cache:
            return None
        if not self._nc.is_connected or self._nc.stats["reconnects"] != self._reconnects:
            self._reconnects = self._nc.stats["reconnects"]
            self.clear()
            return None
        entry = self._cache.get(token)
        if entry is None:
            return None
        if entry.until <= time.monotonic():
            self._drop(token)
            return None
        client_id = entry.info.client_id or ""
        self._hits[client_id] = self._hits.get(client_id, 0) + 1
        return entry.info

    def _store(self, token: str, family: str, info: Introspection) -> None:
        ttl = min(self.cache_ttl, (info.exp or 0) - time.time())
        if ttl <= 0:
            return
        if len(self._cache) >= self._max_entries:
            self._drop(next(iter(self._cache)))
        self._cache[token] = _Entry(time.monotonic() + ttl, family, info)
        self._by_family.setdefault(family, set()).add(token)

    def _drop(self, token: str) -> None:
        entry = self._cache.pop(token, None)
        if entry is not None:
            tokens = self._by_family.get(entry.family)
            if tokens is not None:
                tokens.discard(token)
                if not tokens:
                    del self._by_family[entry.family]

    def evict_families(self, families: list[str]) -> None:
        self._epoch += 1
        for family in families:
            for token in self._by_family.pop(family, ()):
                self._cache.pop(token, None)

    def evict_client(self, client_id: str) -> None:
        self._epoch += 1
        for token in [t for t, e in self._cache.items() if e.info.client_id == client_id]:
            self._drop(token)

    def clear(self) -> None:
        self._epoch += 1
        self._cache.clear()
        self._by_family.clear()

    def __len__(self) -> int:
        return len(self._cache)

    async def _on_event(self, msg: Msg) -> None:
        try:
            event = decode_event(msg.data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            self.clear()  # an event we cannot read might be a revocation: be safe
            return
        match event:
            case ev.TokensRevoked(families=families) | ev.ScopesNarrowed(families=families):
                self.evict_families(families)
            case (
                ev.RefreshReused(family=family)
                | ev.CodeReused(family=family)
                | ev.GrantExpired(family=family)
            ):
                self.evict_families([family])
            case ev.AppDeleted(client_id=client_id):
                self.evict_client(client_id)

    # ---- reporting cache hits as API calls ---------------------------------------------------------

    async def _report_loop(self) -> None:
        while True:
            await asyncio.sleep(self._report_interval)
            await self._report_all()

    async def _report_all(self) -> None:
        """As many reports as the hits so far need, until one cannot be sent."""
        while self._hits and await self._report_hits():
            pass

    async def _report_hits(self) -> bool:
        """Send one report of the hits so far: at most ``report_max_apps`` apps and
        ``MAX_CALLS_PER_APP`` calls each (the token service refuses more); the rest waits for the next
        report, as do all of them when the bus cannot take it. False when nothing was sent."""
        hits, self._hits = self._hits, {}
        report: dict[str, int] = {}
        for client_id, n in hits.items():
            if len(report) < self._report_max_apps:
                report[client_id] = min(n, MAX_CALLS_PER_APP)
            self._keep(client_id, n - report.get(client_id, 0))
        if not report:
            return False
        try:
            await self._bus.request(subjects.TOKEN_CALLS, ReportCallsRequest(calls=report), dict)
        except InvalidRequest as exc:  # sending it again would be refused again
            log.warning("cached calls report refused", error=exc.description, apps=len(report))
        except OAuthError:
            for client_id, n in report.items():
                self._keep(client_id, n)
            return False
        return True

    def _keep(self, client_id: str, n: int) -> None:
        if n > 0:
            self._hits[client_id] = self._hits.get(client_id, 0) + n


# ---- finding the bus -------------------------------------------------------------------------------


def bus_options(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``nats.connect`` keyword arguments for a resource server: ``servers`` and its bus identity.

    From ``MAVIO_NATS_URL`` with ``MAVIO_NATS_USER`` (default ``resource``) and ``MAVIO_NATS_PASSWORD``
    when it is set; otherwise from the running local stack's ``resource.env`` (``shared.stack_file``;
    never from ``stack.env``, the operator's), saying so in a log line. Raises
    ``stack_file.StackNotRunning`` when there is neither, or the stack of that file is not running.
    """
    env = os.environ if environ is None else environ
    if not env.get("MAVIO_NATS_URL"):
        found = stack_file.find_resource(env)
        if found is None:
            where = stack_file.run_dir(env)
            raise stack_file.StackNotRunning(
                f"MAVIO_NATS_URL is unset and no local stack file is in {where}: start `make run` or set it"
            )
        log.info(
            "bus address from the local stack file",
            path=found.shown(),
            nats_url=found.values["MAVIO_NATS_URL"],
        )
        env = found.values
    url = env["MAVIO_NATS_URL"]
    password = env.get("MAVIO_NATS_PASSWORD", "")
    user = env.get("MAVIO_NATS_USER") or ("resource" if password else "")
    options: dict[str, Any] = {"servers": url.split(",")}
    if user:
        options.update(user=user, password=password, inbox_prefix=bus_auth.inbox_prefix(user))
    return options


# ---- aiohttp -----------------------------------------------------------------------------------

VERIFIER = web.AppKey("mavio_token_verifier", TokenVerifier)
TOKEN_INFO = web.RequestKey("mavio_token_info", Introspection)


def setup_verifier(
    app: web.Application,
    nc: NATS,
    *,
    cache_ttl: float = 0.0,
    timeout: float = 2.0,
    counters: CacheCounters | None = None,
) -> TokenVerifier:
    """Put a ``TokenVerifier`` in ``app`` (started and closed with the app). ``counters``: the cache's
    hits and misses on the resource server's own registry, e.g.
    ``CacheCounters(shared.metrics.cache_lookups(registry), "verify")``."""
    verifier = TokenVerifier(nc, cache_ttl=cache_ttl, timeout=timeout, counters=counters)
    app[VERIFIER] = verifier

    async def lifetime(_: web.Application) -> AsyncIterator[None]:
        await verifier.start()
        yield
        await verifier.close()

    app.cleanup_ctx.append(lifetime)
    return verifier


def _challenge(status: int, error: str = "", description: str = "", scope: str = "") -> web.Response:
    """An RFC 6750 §3 error response: the ``WWW-Authenticate: Bearer`` challenge and a JSON body."""
    params = [f'realm="{REALM}"']
    body: dict[str, str] = {}
    if error:
        params.append(f'error="{error}"')
        body["error"] = error
    if description:
        params.append(f'error_description="{description}"')
        body["error_description"] = description
    if scope:
        params.append(f'scope="{scope}"')
        body["scope"] = scope
    headers = {"WWW-Authenticate": "Bearer " + ", ".join(params), "Cache-Control": "no-store"}
    return web.json_response(body, status=status, headers=headers)


def bearer_token(request: web.Request) -> str | None:
    """The token of ``Authorization: Bearer <token>`` (RFC 6750 §2.1), "" if malformed, None if absent."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    value = value.strip()
    return value if value and " " not in value else ""


def require_scopes(*required: str) -> Callable[[Handler], Handler]:
    """Guard an aiohttp handler: an active Mavio access token carrying every scope in ``required``."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            token = bearer_token(request)
            if token is None:
                return _challenge(401)  # no credentials: no error code (RFC 6750 §3.1)
            if token == "":
                return _challenge(400, "invalid_request", "malformed Authorization header")
            try:
                info = await request.app[VERIFIER].verify(token)
            except OAuthError as exc:
                return web.json_response(
                    {"error": exc.error, "error_description": exc.description}, status=503
                )
            if not info.active:
                return _challenge(401, InvalidToken.error, "the access token is invalid, expired or revoked")
            granted = (info.scope or "").split()
            missing = [s for s in required if s not in granted]
            if missing:
                return _challenge(
                    403,
                    InsufficientScope.error,
                    "the access token lacks a required scope",
                    " ".join(required),
                )
            request[TOKEN_INFO] = info
            return await handler(request)

        return guarded

    return decorate
