"""The OpenAPI entries of an app's webhook deliveries (``services.gateway.routes.webhooks_api``): paths
and schemas, the schemas built from the bus Structs (``shared.messages.webhooks``) so they cannot drift.
``services.gateway.openapi_doc`` adds them to the document."""

from __future__ import annotations

from typing import Any, Final

import msgspec

from shared.messages.webhooks import Delivery, DeliveryReply, EndpointState, ListDeliveriesReply

_S: Final = {"type": "string"}
_CLIENT_ID: Final = {"name": "client_id", "in": "path", "required": True, "schema": _S}
_DELIVERY_ID: Final = {"name": "delivery_id", "in": "path", "required": True, "schema": _S}
_SECURITY: Final[list[dict[str, list[str]]]] = [{"session": []}]
_BASE: Final = "/api/v1/oauth-apps/{client_id}"


def _schemas() -> dict[str, Any]:
    _, components = msgspec.json.schema_components(
        [ListDeliveriesReply, DeliveryReply], ref_template="#/components/schemas/{name}"
    )
    names = (ListDeliveriesReply, Delivery, EndpointState)
    return {kind.__name__: components[kind.__name__] for kind in names}


def _ok(ref: str, status: str) -> dict[str, Any]:
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}
    return {status: {"description": "success", "content": content}}


def _operation(summary: str, responses: dict[str, Any], errors: dict[str, Any]) -> dict[str, Any]:
    return {"summary": summary, "security": _SECURITY, "responses": {**responses, **errors}}


def webhook_paths(errors: dict[str, Any]) -> dict[str, Any]:
    """The four routes; ``errors``: the API's error responses (``openapi_doc._API_ERRORS``)."""
    return {
        _BASE + "/webhook-deliveries": {
            "parameters": [_CLIENT_ID],
            "get": _operation(
                "the app's last 100 webhook deliveries (newest first) and its endpoint's state",
                _ok("ListDeliveriesReply", "200"),
                errors,
            ),
        },
        _BASE + "/webhook-deliveries/{delivery_id}/redeliver": {
            "parameters": [_CLIENT_ID, _DELIVERY_ID],
            "post": _operation(
                "send a failed delivery again (same webhook-id); 400 when it is not failed or no URL is set",
                _ok("Delivery", "202"),
                errors,
            ),
        },
        _BASE + "/webhook/test": {
            "parameters": [_CLIENT_ID],
            "post": _operation(
                "send a webhook.test event (queued: the delivery, pending); 400 without a webhook URL",
                _ok("Delivery", "202"),
                errors,
            ),
        },
        _BASE + "/webhook/enable": {
            "parameters": [_CLIENT_ID],
            "post": _operation("re-enable a disabled webhook endpoint", _ok("EndpointState", "200"), errors),
        },
    }


WEBHOOK_SCHEMAS: Final = _schemas()
