"""An app's settings are defined once (``shared.apps.settings.AppSettings``): the stored record, the bus's
view and create request extend it, an edit carries the patch generated from it, and the form, the JSON
API, the OpenAPI document and the audit trail take its fields from it. Field errors travel as data."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from multidict import MultiDict, MultiDictProxy

from services.gateway.developer.api_io import AppBody
from services.gateway.developer.forms import AppForm, parse_form
from services.gateway.openapi_doc import SCHEMAS
from services.registry.domain import AUDITED_FIELDS
from shared.apps.records import AppRecord
from shared.apps.settings import (
    SETTINGS_FIELDS,
    AppSettings,
    AppSettingsPatch,
    patched,
    settings_of,
)
from shared.bus import error_payload, raise_if_error
from shared.errors import Conflict, FieldConflict, ValidationFailed
from shared.messages.registry import AppView, CreateAppRequest, OwnerRequest, UpdateAppRequest

FORM_TEMPLATE = Path(__file__).parents[2] / "services/gateway/templates/app_form.html"
SETTINGS = AppSettings(
    name="Notes",
    description="Syncs notes",
    homepage_url="https://notes.example",
    redirect_uris=["https://notes.example/cb", "http://127.0.0.1:8080/cb"],
    scopes=["users:read", "meetings:read"],
    require_pkce=True,
)


@pytest.mark.parametrize("struct", [AppRecord, AppView, CreateAppRequest])
def test_the_record_the_view_and_the_create_request_extend_the_settings(struct: type) -> None:
    assert issubclass(struct, AppSettings)


@pytest.mark.parametrize("field", SETTINGS_FIELDS)
def test_every_setting_has_its_form_control_its_api_schema_and_its_audit(field: str) -> None:
    assert f'name="{field}"' in FORM_TEMPLATE.read_text()
    assert field in SCHEMAS["AppBody"]["properties"] and field in SCHEMAS["App"]["properties"]
    assert field in AppBody.__struct_fields__ and field in AppSettingsPatch.__struct_fields__
    assert field in AUDITED_FIELDS


def test_a_patch_changes_only_what_it_sets() -> None:
    assert patched(SETTINGS, AppSettingsPatch(description="")) == msgspec.structs.replace(
        SETTINGS, description=""
    )
    assert patched(SETTINGS, AppSettingsPatch()) == SETTINGS


def test_an_update_carries_its_settings_flat_on_the_wire() -> None:
    """The v1 shape: the changed settings beside ``op``, as before the settings Struct (a gateway and a
    registry of either side of that change understand each other during a rolling deploy)."""
    update = UpdateAppRequest(user_id="u", client_id="c", require_pkce=False)
    wire = msgspec.json.decode(msgspec.json.encode(update))
    assert wire["op"] == "update" and wire["require_pkce"] is False and "changes" not in wire
    decoded = msgspec.json.decode(msgspec.json.encode(update), type=OwnerRequest)
    assert isinstance(decoded, UpdateAppRequest) and decoded == update
    assert patched(SETTINGS, decoded).require_pkce is False


def test_the_create_request_keeps_its_settings_flat_on_the_wire() -> None:
    create = CreateAppRequest(**msgspec.structs.asdict(SETTINGS), user_id="u")
    wire = msgspec.json.decode(msgspec.json.encode(create))
    assert wire["op"] == "create" and wire["name"] == "Notes" and wire["require_pkce"] is True
    decoded = msgspec.json.decode(msgspec.json.encode(create), type=OwnerRequest)
    assert isinstance(decoded, CreateAppRequest) and settings_of(decoded) == SETTINGS


def test_the_form_shows_the_settings_and_parses_them_back() -> None:
    assert AppForm.of(SETTINGS).settings() == SETTINGS
    form = MultiDictProxy(
        MultiDict(
            [
                ("name", " Notes "),
                ("homepage_url", "https://notes.example"),
                ("redirect_uris", "https://a.example/cb\r\n\r\n  https://b.example/cb  "),
                ("scopes", "users:read"),
                ("scopes", "meetings:read"),
                ("require_pkce", "on"),
            ]
        )
    )
    parsed = parse_form(form)  # type: ignore[arg-type]
    assert parsed["name"] == " Notes "  # shown again as typed; the registry strips
    assert parsed.settings() == AppSettings(
        name=" Notes ",
        homepage_url="https://notes.example",
        redirect_uris=["https://a.example/cb", "https://b.example/cb"],
        scopes=["users:read", "meetings:read"],
        require_pkce=True,
    )
    assert parse_form(MultiDictProxy(MultiDict())).settings() == AppSettings()  # type: ignore[arg-type]


def test_a_field_conflict_crosses_the_bus_with_its_fields() -> None:
    body, headers = error_payload(FieldConflict({"name": "You already have an app with this name"}))
    with pytest.raises(FieldConflict) as caught:
        raise_if_error(body, headers)
    assert isinstance(caught.value, Conflict) and isinstance(caught.value, ValidationFailed)
    assert caught.value.status == 409 and caught.value.fields == {
        "name": "You already have an app with this name"
    }
