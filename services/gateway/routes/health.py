"""``/healthz`` (process alive), ``/readyz`` (bus, store and every service), ``/metrics``, and the
OpenAPI document (``/api/openapi.json``)."""

from __future__ import annotations

import asyncio

import prometheus_client
from aiohttp import web

from services.gateway import openapi_doc
from services.gateway.keys import BUS, METRICS, NC, SETTINGS, redis_of
from services.gateway.rendering import json_response
from shared import subjects
from shared.errors import OAuthError
from shared.lifecycle import HealthReply, HealthRequest

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(_: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def _service_ok(request: web.Request, service: str) -> bool:
    try:
        reply = await request.app[BUS].request(
            subjects.op(service, "health"), HealthRequest(), HealthReply, timeout=1.0
        )
    except OAuthError:
        return False
    return reply.redis


async def _redis_ok(request: web.Request) -> bool:
    try:
        return bool(await asyncio.wait_for(redis_of(request.app).ping(), 1.0))
    except Exception:
        return False


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    nats_ok = request.app[NC].is_connected
    checks = await asyncio.gather(_redis_ok(request), *(_service_ok(request, s) for s in subjects.SERVICES))
    status = {"nats": nats_ok, "redis": checks[0]}
    status.update({s: ok for s, ok in zip(subjects.SERVICES, checks[1:], strict=True)})
    down = sorted(name for name, ok in status.items() if not ok)
    body = {"status": "ok" if not down else "unavailable", "checks": status, "down": down}
    return json_response(body, status=200 if not down else 503)


@routes.get(openapi_doc.PATH)
async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 document of this HTTP API (``services.gateway.openapi_doc``)."""
    body = openapi_doc.document(request.app[SETTINGS].public_url)
    return json_response(body, headers={"Cache-Control": "public, max-age=300"})


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    data = prometheus_client.generate_latest(request.app[METRICS].registry)
    return web.Response(body=data, headers={"Content-Type": prometheus_client.CONTENT_TYPE_LATEST})
