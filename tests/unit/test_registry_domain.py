"""Pure registry logic: ownership, client-secret checks and rotation, partial updates, stats days."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from services.registry import client_secrets, domain
from shared.apps.secrets import secret_matches
from shared.apps.settings import AppSettings
from shared.errors import NotFound
from shared.messages.registry import UpdateAppRequest
from shared.tokens import Signer, check_client_secret_format

SIGNER = Signer(b"k" * 32)
NOW = 1_800_000_000


def record(**overrides: object) -> domain.AppRecord:
    base: dict[str, object] = {
        "client_id": "mavio_client_AAAAAAAAAAAAAAAA",
        "name": "App",
        "homepage_url": "https://a.example",
        "redirect_uris": ["https://a.example/cb"],
        "scopes": ["users:read"],
        "owner_id": "usr_owner",
        "created_at": NOW,
        "updated_at": NOW,
        "secret_hash": "",
    }
    base.update(overrides)
    return domain.AppRecord(**base)  # type: ignore[arg-type]


def test_owned_answers_not_found_for_missing_other_owner_or_no_user() -> None:
    app = record()
    assert domain.owned(app, "usr_owner") is app
    for rec, user in [(None, "usr_owner"), (app, "usr_other"), (app, "")]:
        with pytest.raises(NotFound):
            domain.owned(rec, user)


def test_issued_secret_is_well_formed_and_only_its_hash_is_kept() -> None:
    secret, signature = client_secrets.issue_secret(SIGNER)
    assert check_client_secret_format(secret)
    assert signature == SIGNER.sign(secret) and secret not in signature


def test_secret_matches_current_only() -> None:
    secret, signature = client_secrets.issue_secret(SIGNER)
    app = record(secret_hash=signature)
    assert secret_matches(app, secret, SIGNER, now=NOW)
    assert not secret_matches(app, secret + "x", SIGNER, now=NOW)
    assert not secret_matches(app, "", SIGNER, now=NOW)
    assert not secret_matches(None, secret, SIGNER, now=NOW)
    assert not secret_matches(record(secret_hash=""), "", SIGNER, now=NOW)


@pytest.mark.parametrize("keep", [3600, 86_400])
def test_rotation_keeps_the_previous_secret_until_its_deadline(keep: int) -> None:
    old, old_hash = client_secrets.issue_secret(SIGNER)
    new, new_hash = client_secrets.issue_secret(SIGNER)
    rotated = client_secrets.rotated(record(secret_hash=old_hash), new_hash, keep_old_seconds=keep, now=NOW)
    assert rotated.previous_secret_until == NOW + keep and rotated.updated_at == NOW
    assert secret_matches(rotated, new, SIGNER, now=NOW)
    assert secret_matches(rotated, old, SIGNER, now=NOW + keep - 1)
    assert not secret_matches(rotated, old, SIGNER, now=NOW + keep)


def test_default_rotation_invalidates_the_old_secret_at_once() -> None:
    old, old_hash = client_secrets.issue_secret(SIGNER)
    _, new_hash = client_secrets.issue_secret(SIGNER)
    rotated = client_secrets.rotated(record(secret_hash=old_hash), new_hash, keep_old_seconds=0, now=NOW)
    assert rotated.previous_secret_hash == "" and rotated.previous_secret_until == 0
    assert not secret_matches(rotated, old, SIGNER, now=NOW)


def test_rotation_refuses_other_periods() -> None:
    with pytest.raises(ValueError):
        client_secrets.rotated(record(), "h", keep_old_seconds=60, now=NOW)


def test_merged_input_keeps_fields_left_out() -> None:
    app = record(description="old")
    merged = domain.merged_input(app, UpdateAppRequest(user_id="u", client_id=app.client_id, name="New"))
    assert merged == AppSettings(
        name="New",
        description="old",
        homepage_url=app.homepage_url,
        redirect_uris=app.redirect_uris,
        scopes=app.scopes,
    )


def test_name_taken_is_case_insensitive_and_ignores_the_app_itself() -> None:
    others = [record(name="Notes"), record(client_id="mavio_client_BBBBBBBBBBBBBBBB", name="Other")]
    assert domain.name_taken("NOTES", others)
    assert not domain.name_taken("Notes", others, except_id="mavio_client_AAAAAAAAAAAAAAAA")
    assert not domain.name_taken("New", others)


def test_view_carries_no_secret_material() -> None:
    view = record(secret_hash="abc", previous_secret_hash="def").view()
    assert not any("secret" in field for field in view.__struct_fields__)


def test_stats_days_are_the_last_30_oldest_first() -> None:
    days = domain.stats_days(dt.date(2026, 3, 1))
    assert len(days) == 30 and days[-1] == dt.date(2026, 3, 1) and days[0] == dt.date(2026, 1, 31)
    assert domain.utc_today(0) == dt.date(1970, 1, 1)


@pytest.mark.parametrize(
    ("changes", "logo_uploaded", "fields"),
    [
        ({}, False, []),
        ({"name": "Other"}, False, ["name"]),
        (
            {"redirect_uris": ["https://x.example/cb"], "require_pkce": True},
            False,
            ["redirect_uris", "require_pkce"],
        ),
        ({"secret_hash": "f" * 64, "updated_at": 99}, False, []),  # never a secret, nor bookkeeping
        ({}, True, ["logo"]),
        ({"has_logo": True}, False, ["logo"]),
    ],
)
def test_an_edit_names_the_fields_it_changed(
    changes: dict[str, object], logo_uploaded: bool, fields: list[str]
) -> None:
    before = record()
    after = msgspec.structs.replace(before, **changes)
    assert domain.changed_fields(before, after, logo_uploaded=logo_uploaded) == fields
