"""The OpenAPI 3.1 ``webhooks`` section: the events the webhooks service POSTs to an app's webhook URL
(``services.webhooks.domain``, which a gateway module may not import: the unit test holds them
together), one entry per event type, each with its Standard Webhooks headers and
its payload ``{"type", "timestamp", "data"}``. ``services.gateway.openapi_doc`` adds them to the
document; ``tests/unit/test_openapi_events.py`` checks real payloads against these schemas."""

from __future__ import annotations

from typing import Any, Final

_S: Final = {"type": "string"}
_REF: Final = "#/components/schemas/{}"

_HEADERS: Final = [
    {
        "name": "webhook-id",
        "in": "header",
        "required": True,
        "description": "the delivery's id, the same on every retry and redelivery: deduplicate by it",
        "schema": {"type": "string", "pattern": "^msg_[0-9a-f]+$"},
    },
    {
        "name": "webhook-timestamp",
        "in": "header",
        "required": True,
        "description": "when this attempt was signed (epoch seconds); refuse one more than 5 minutes off",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    {
        "name": "webhook-signature",
        "in": "header",
        "required": True,
        "description": "`v1,` + base64 HMAC-SHA256 of `id.timestamp.body` under the app's signing "
        "secret (Standard Webhooks): verify it with a `standardwebhooks` library",
        "schema": {"type": "string", "pattern": "^v1,[A-Za-z0-9+/=]+$"},
    },
]


def _grant(reasons: list[str], **extra: Any) -> dict[str, Any]:
    """``data`` naming a grant: its id, the user as the app knows them, the app, why."""
    properties = {"grant": _S, "sub": _S, "client_id": _S, "reason": {"enum": reasons}, **extra}
    return {"type": "object", "required": ["grant", "sub", "client_id", "reason"], "properties": properties}


_DATA: Final[dict[str, tuple[str, str, dict[str, Any]]]] = {
    "authorization.revoked": (
        "WebhookAuthorizationRevoked",
        "The user deauthorized the app (Connected apps, an operator, or a plan change that emptied the "
        "grant): delete the tokens and data stored for `sub`.",
        _grant(["user", "operator", "plan"]),
    ),
    "authorization.narrowed": (
        "WebhookAuthorizationNarrowed",
        "A plan change took scopes away: `removed_scopes`, and the grant's `scope` now.",
        _grant(["plan"], removed_scopes={"type": "array", "items": _S}, scope=_S)
        | {"required": ["grant", "sub", "client_id", "reason", "removed_scopes", "scope"]},
    ),
    "tokens.revoked": (
        "WebhookTokensRevoked",
        "The grant's tokens were revoked: the owner's Revoke all tokens, reuse detection, or a leak "
        "report (`leaked`, with the `url` where the token was found).",
        _grant(["owner", "refresh_token_reuse", "code_reuse", "leaked"], url=_S),
    ),
    "credential.leaked": (
        "WebhookCredentialLeaked",
        "A credential of the app was reported public and invalidated: its type, SHA-256 (`token_hash`), "
        "where it was found; never the credential.",
        {
            "type": "object",
            "required": ["client_id", "credential_type", "token_hash", "url", "source"],
            "properties": {k: _S for k in ("client_id", "credential_type", "token_hash", "url", "source")},
        },
    ),
    "webhook.test": (
        "WebhookTest",
        "Send test event on the app's page: nothing to do but check that it verifies.",
        {"type": "object", "required": ["client_id"], "properties": {"client_id": _S}},
    ),
}


def _payload(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["type", "timestamp", "data"],
        "properties": {
            "type": {"const": kind},
            "timestamp": {"type": "string", "format": "date-time"},
            "data": data,
        },
    }


def _entry(kind: str, name: str, description: str) -> dict[str, Any]:
    content = {"application/json": {"schema": {"$ref": _REF.format(name)}}}
    return {
        "post": {
            "summary": kind,
            "description": description,
            "parameters": _HEADERS,
            "requestBody": {"required": True, "content": content},
            "responses": {
                "2XX": {"description": "delivered (within MAVIO_WEBHOOK_TIMEOUT)"},
                "default": {"description": "anything else: retried on the schedule, then failed"},
            },
        }
    }


WEBHOOK_EVENTS: Final = {kind: _entry(kind, name, text) for kind, (name, text, _) in _DATA.items()}
EVENT_SCHEMAS: Final = {name: _payload(kind, data) for kind, (name, _, data) in _DATA.items()}
