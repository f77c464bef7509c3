"""The OpenAPI document describes every field the apps API takes and returns: each request body's
schema lists exactly its Struct's fields with their JSON types, and the app object's schema lists
exactly what ``app_json`` answers (schemathesis, in ``tests/e2e/test_openapi_contract.py``, only
generates what the document names, so a field missing here would never be exercised there)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from services.gateway.developer.api_io import AppBody, SecretBody, app_json
from services.gateway.openapi_doc import SCHEMAS, document
from shared.messages.registry import AppStats, AppView, DayCount


def _types(schema: dict[str, Any]) -> set[str]:
    """The JSON types a (msgspec or hand-written) property schema allows, ``null`` left out."""
    if "anyOf" in schema:
        return set().union(*(_types(s) for s in schema["anyOf"])) - {"null"}
    kind = schema.get("type", "object")
    return ({kind} if isinstance(kind, str) else set(kind)) - {"null"}


def _struct_properties(struct: type[msgspec.Struct]) -> dict[str, set[str]]:
    _, components = msgspec.json.schema_components([struct])
    properties = components[struct.__name__]["properties"]
    return {name: _types(schema) for name, schema in properties.items()}


def _doc_properties(schema: dict[str, Any]) -> dict[str, set[str]]:
    return {name: _types(prop) for name, prop in schema["properties"].items()}


@pytest.mark.parametrize("body", [AppBody, SecretBody])
def test_every_request_body_field_is_described_with_its_type(body: type[msgspec.Struct]) -> None:
    assert _doc_properties(SCHEMAS[body.__name__]) == _struct_properties(body)


def test_require_pkce_is_described_where_the_api_takes_and_returns_it() -> None:
    assert SCHEMAS["AppBody"]["properties"]["require_pkce"] == {"type": "boolean"}
    assert SCHEMAS["App"]["properties"]["require_pkce"] == {"type": "boolean"}


def test_the_app_object_schema_is_what_the_api_answers() -> None:
    view = AppView(
        client_id="mavio_client_x", name="A", homepage_url="https://a.example", redirect_uris=[],
        scopes=[], owner_id="u", require_pkce=True,
    )  # fmt: skip
    assert set(SCHEMAS["App"]["properties"]) == set(app_json(view))


def test_the_stats_schema_is_the_app_stats_struct() -> None:
    stats = SCHEMAS["AppWithStats"]["properties"]["stats"]
    assert set(stats["properties"]) == set(AppStats.__struct_fields__)
    assert set(stats["properties"]["api_calls_by_day"]["items"]["properties"]) == set(
        DayCount.__struct_fields__
    )


def test_delete_takes_no_request_body() -> None:
    paths = document("https://mavio.example")["paths"]
    assert "requestBody" not in paths["/api/v1/oauth-apps/{client_id}"]["delete"]
    assert "requestBody" not in paths["/api/v1/oauth-apps/{client_id}/logo"]["delete"]
