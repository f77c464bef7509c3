"""Bus handlers of the token service: decode -> domain -> store -> encode.

``build_routes`` wires the flows to one Redis store, the cached client authentication (app records read
from Redis, evicted by app events: no registry round trip per request) and the event publisher;
the verification route is ``quiet`` (no per-request log line: it is the hot path). ``exchange_many``
carries many ``exchange`` requests in one message, each run as a single one (``shared.service_batch``).
"""

from __future__ import annotations

from typing import Any

import structlog

from services.token.calls import CallCounter, check_report
from services.token.device import DeviceGrant
from services.token.endpoint import TokenEndpoint
from services.token.exchange_code import CodeGrant
from services.token.introspect import Introspector
from services.token.metrics import TokenMetrics
from services.token.oidc_wiring import id_token_issuer, signing_key_routes, start_keyring
from services.token.refresh import RefreshGrant
from services.token.replay_audit import ReplayAuditor
from services.token.reuse import ReuseResponder
from services.token.userinfo import UserInfo
from services.token.verify import Verifier
from shared import subjects
from shared.accounts.store import RedisAccountStore
from shared.apps.client_auth_cache import CachedClientVerifier
from shared.apps.store import RedisAppStore
from shared.events import ensure_audit_stream_at_start, publish_event
from shared.grants.calls import GrantStats
from shared.grants.store import grant_store
from shared.lifecycle import ServiceContext
from shared.messages import events as ev
from shared.messages.device import StartDeviceReply, StartDeviceRequest
from shared.messages.token import (
    ExchangeTokenReply,
    ExchangeTokenRequest,
    Introspection,
    IntrospectTokenRequest,
    ReportCallsRequest,
    UserInfoRequest,
    VerifyManyRequest,
    VerifyTokenRequest,
)
from shared.scopes import ScopeCatalog
from shared.service import Meta, Route, batch_route
from shared.tokens import Signer

log = structlog.get_logger("mavio.token")

ACK = b"{}"


async def build_routes(ctx: ServiceContext) -> list[Route[Any]]:
    s = ctx.settings
    signer = Signer(s.hmac_key)
    store = grant_store(ctx.redis, s)
    metrics = TokenMetrics(ctx.metrics.registry)
    clients = CachedClientVerifier(
        RedisAppStore(ctx.redis), signer, cache_ttl=s.app_cache_ttl, counters=metrics.client_auth_cache
    )
    await clients.watch(ctx.nc)

    writer = await ctx.jetstream_writer()  # the audit trail is written as bus user ``audit``
    await ensure_audit_stream_at_start(writer, replicas=ctx.settings.audit_replicas)

    async def publish(event: ev.Event) -> None:
        try:
            await publish_event(ctx.nc, event, writer=writer)
        except Exception as exc:  # the revocation is done; a lost event must not fail the request
            log.error("event not published", kind=type(event).__name__, debug=repr(exc))

    keyring = await start_keyring(ctx)
    accounts = RedisAccountStore(ctx.redis)
    id_tokens = id_token_issuer(ctx, keyring, clients, accounts)
    reuse = ReuseResponder(store, publish, metrics)
    ttls = {"access_ttl": s.access_token_ttl, "refresh_ttl": s.refresh_token_ttl}
    code = CodeGrant(
        codes=store, families=store, reuse=reuse, signer=signer, metrics=metrics, id_tokens=id_tokens, **ttls
    )
    window = s.refresh_replay_window
    replays = ReplayAuditor(publish, metrics)
    ctx.stack.push_async_callback(replays.drain)
    refresh = RefreshGrant(
        tokens=store,
        indexes=store,
        reuse=reuse,
        replays=replays,
        signer=signer,
        replay_window=window,
        metrics=metrics,
        id_tokens=id_tokens,
        sessions=store,
        **ttls,
    )
    device = DeviceGrant(
        devices=store,
        code=code,
        signer=signer,
        catalog=ScopeCatalog.load(),
        issuer=s.public_url,
        ttl=s.device_code_ttl,
    )

    async def id_token_net(reply: ExchangeTokenReply, now: int) -> ExchangeTokenReply:
        return await id_tokens.attach_for_grant(reply, tokens=store, sessions=store, signer=signer, now=now)

    endpoint = TokenEndpoint(clients, code, refresh, device, id_tokens=id_token_net)
    introspector = Introspector(clients, store, store, signer)
    calls = CallCounter(GrantStats(ctx.redis))
    calls.start()
    ctx.stack.push_async_callback(calls.close)
    verifier = Verifier(store, signer, calls, metrics)
    userinfo = UserInfo(store, signer, calls, accounts)

    async def exchange(req: ExchangeTokenRequest, meta: Meta) -> ExchangeTokenReply:
        return await endpoint.exchange(req, request_id=meta.request_id)

    async def device_authorization(req: StartDeviceRequest, meta: Meta) -> StartDeviceReply:
        return await endpoint.device_authorization(req, request_id=meta.request_id)

    async def introspect(req: IntrospectTokenRequest, meta: Meta) -> Introspection:
        return await introspector.introspect(req, request_id=meta.request_id)

    async def report_calls(req: ReportCallsRequest, _meta: Meta) -> bytes:
        for client_id, n in check_report(req.calls, max_apps=s.calls_report_max).items():
            calls.add(client_id, n)  # counted only for an app that exists (``GrantStats.add_calls``)
        return ACK

    exchange_route = Route("exchange", subjects.TOKEN_EXCHANGE, ExchangeTokenRequest, exchange)
    return [
        exchange_route,
        batch_route("exchange_many", subjects.TOKEN_EXCHANGE_MANY, exchange_route, direct=True),
        Route("device_authorize", subjects.TOKEN_DEVICE_AUTHORIZE, StartDeviceRequest, device_authorization),
        Route("verify", subjects.TOKEN_VERIFY, VerifyTokenRequest, verifier.verify, quiet=True),
        Route("verify_many", subjects.TOKEN_VERIFY_MANY, VerifyManyRequest, verifier.verify_many, quiet=True),
        Route("introspect", subjects.TOKEN_INTROSPECT, IntrospectTokenRequest, introspect),
        Route("calls", subjects.TOKEN_CALLS, ReportCallsRequest, report_calls, quiet=True),
        Route("userinfo", subjects.TOKEN_USERINFO, UserInfoRequest, userinfo.userinfo),
        *signing_key_routes(ctx, keyring),
    ]
