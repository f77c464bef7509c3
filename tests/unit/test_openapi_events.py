"""The OpenAPI document's ``webhooks`` section (``services.gateway.openapi_events``) describes every event
the webhooks service sends: one entry per type, and each payload the service builds
(``services.webhooks.domain``) valid against its entry's schema."""

from __future__ import annotations

from typing import Any

import jsonschema
import msgspec
import pytest

from services.gateway.openapi_doc import document
from services.webhooks import domain
from shared.messages import events as ev

AT = 1_700_000_000.0
EVENTS: list[ev.Event] = [
    ev.TokensRevoked(
        at=AT, client_id="c1", families=[], user_id="u1", reason="user_revoked", grant_ended=True
    ),
    ev.TokensRevoked(at=AT, client_id="c1", families=[], users=["u1", "u2"], reason="app_revoke_all"),
    ev.TokensRevoked(
        at=AT, client_id="c1", families=[], user_id="u1", reason="leaked", url="https://x.test/a"
    ),
    ev.ScopesNarrowed(
        at=AT,
        client_id="c1",
        user_id="u1",
        families=[],
        removed_scopes=["recordings:read"],
        scope="meetings:read",
    ),
    ev.CredentialLeaked(
        at=AT, client_id="c1", credential_type="client_secret", token_hash="ab" * 32, url="https://x.test/b"
    ),
]


def _spec() -> dict[str, Any]:
    return document("https://auth.example")


def _payloads() -> list[dict[str, Any]]:
    hooks = [hook for event in EVENTS for hook in domain.webhook_events(event)]
    hooks.append(domain.test_event("c1", AT))
    return [msgspec.json.decode(domain.payload(hook)) for hook in hooks]


def test_there_is_one_webhooks_entry_per_event_type_with_the_standard_webhooks_headers() -> None:
    spec = _spec()
    kinds = {domain.AUTHORIZATION_REVOKED, domain.AUTHORIZATION_NARROWED, domain.TOKENS_REVOKED}
    kinds |= {domain.CREDENTIAL_LEAKED, domain.WEBHOOK_TEST}
    assert set(spec["webhooks"]) == kinds == {p["type"] for p in _payloads()}
    for entry in spec["webhooks"].values():
        headers = {p["name"] for p in entry["post"]["parameters"] if p["in"] == "header"}
        assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}


@pytest.mark.parametrize("payload", _payloads(), ids=lambda p: f"{p['type']}:{p['data'].get('reason', '')}")
def test_each_payload_the_service_sends_matches_its_schema(payload: dict[str, Any]) -> None:
    spec = _spec()
    ref = spec["webhooks"][payload["type"]]["post"]["requestBody"]["content"]["application/json"]["schema"]
    schema = spec["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]
    jsonschema.validate(payload, schema)
    wrong = payload | {"type": "something.else"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(wrong, schema)
