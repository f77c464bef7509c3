"""Gateway route: ``POST /oauth/leaked-credentials``, the receiving side of GitHub's secret-scanning
partner program (any scanner speaking that format can call it unmodified).

Order: the reporter's signature over the raw body first (401, nothing read further, nothing acted on),
then the report's shape (400 with a clear message), then the owning services act on every live Mavio
credential before the reply. The reply lists, in the report's order, each item's SHA-256, its ``type``
and ``true_positive`` (a credential Mavio issued: live, expired or revoked) or ``false_positive``; it
never echoes a credential. A repeated report acts no more and answers the same labels.
"""

from __future__ import annotations

from aiohttp import web

from services.gateway.keys import BUS, LEAK_REPORTERS
from services.gateway.leaks import act_on, parse_report, token_hash
from services.gateway.web_helpers import request_id
from shared.errors import InvalidSignature
from shared.leak_reporters import KEY_ID_HEADER, SIGNATURE_HEADER, signature_valid
from shared.messages.leaks import REPORTER_ACTOR

routes = web.RouteTableDef()

PATH = "/oauth/leaked-credentials"
NO_STORE = {"Cache-Control": "no-store"}


async def _verified_reporter(request: web.Request, body: bytes) -> str:
    """The key identifier whose signature over ``body`` verifies; ``InvalidSignature`` otherwise."""
    reporters = request.app[LEAK_REPORTERS]
    if reporters is None:
        raise web.HTTPNotFound()
    key_id = request.headers.get(KEY_ID_HEADER, "").strip()
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not key_id or not signature:
        raise InvalidSignature(f"the {KEY_ID_HEADER} and {SIGNATURE_HEADER} headers are required")
    key = await reporters.key(key_id)
    if key is None:
        raise InvalidSignature("unknown key identifier")
    if not signature_valid(key, body, signature):
        raise InvalidSignature("the signature does not verify over the body")
    return key_id


@routes.post(PATH)
async def leaked_credentials(request: web.Request) -> web.Response:
    if request.app[LEAK_REPORTERS] is None:
        raise web.HTTPNotFound()
    body = await request.read()
    key_id = await _verified_reporter(request, body)
    items = parse_report(body)
    verdicts = await act_on(
        request.app[BUS], items, actor=REPORTER_ACTOR + key_id, request_id=request_id(request)
    )
    reply = [
        {
            "token_hash": token_hash(item.token),
            "token_type": item.type,
            "label": "true_positive" if verdict.issued else "false_positive",
        }
        for item, verdict in zip(items, verdicts, strict=True)
    ]
    return web.json_response(reply, headers=NO_STORE)
