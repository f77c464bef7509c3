"""Meetings API: an example Mavio resource server (``make demo`` starts it).

It verifies every bearer token over the bus with ``shared.verify_client`` (never by parsing the token
itself) and answers RFC 6750 §3: no token -> 401 with a ``Bearer`` challenge, an inactive (expired,
revoked) token -> 401 ``invalid_token``, a token without the scope -> 403 ``insufficient_scope``.

    GET /meetings                      meetings:read      the token owner's meetings
    GET /meetings/{id}/transcript      transcripts:read   one meeting's transcript
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from aiohttp import web
from nats.aio.client import Client as NATS

from shared.verify_client import TOKEN_INFO, require_scopes, setup_verifier


@dataclass(frozen=True)
class Meeting:
    id: str
    title: str
    starts_at: str
    minutes: int


# Sample data: every user sees the same three meetings (an example, not a product).
MEETINGS = (
    Meeting(id="m-1001", title="Weekly planning", starts_at="2026-12-01T09:00:00Z", minutes=30),
    Meeting(id="m-1002", title="Design review: onboarding", starts_at="2026-12-02T14:00:00Z", minutes=45),
    Meeting(id="m-1003", title="Customer call: Acme", starts_at="2026-12-03T16:30:00Z", minutes=25),
)
TRANSCRIPTS = {m.id: f"Transcript of {m.title}: (sample text)" for m in MEETINGS}

routes = web.RouteTableDef()


@routes.get("/meetings")
@require_scopes("meetings:read")
async def list_meetings(request: web.Request) -> web.Response:
    info = request[TOKEN_INFO]
    return web.json_response({"user": info.sub, "meetings": [asdict(m) for m in MEETINGS]})


@routes.get("/meetings/{meeting_id}/transcript")
@require_scopes("transcripts:read")
async def transcript(request: web.Request) -> web.Response:
    meeting_id = request.match_info["meeting_id"]
    if meeting_id not in TRANSCRIPTS:
        return web.json_response({"error": "not_found"}, status=404)
    return web.json_response({"meeting_id": meeting_id, "text": TRANSCRIPTS[meeting_id]})


def create_app(nc: NATS, *, cache_ttl: float = 0.0) -> web.Application:
    """The API on an existing NATS connection (the caller owns it)."""
    app = web.Application()
    setup_verifier(app, nc, cache_ttl=cache_ttl)
    app.router.add_routes(routes)
    return app
