"""Every event kind has a live subject, round-trips through the tagged union, and never names an
audit subject without an app."""

from __future__ import annotations

import typing

import pytest

from shared import subjects
from shared.events import audit_subject, decode_event, subject_of
from shared.messages import events as ev

KINDS = typing.get_args(ev.Event)


def sample(kind: type) -> ev.Event:
    values = {"at": 1.0, "client_id": "mavio_client_abcdefghijklmnop", "families": ["f"], "family": "f"}
    values |= {"user_id": "usr_x", "reason": "rfc7009", "scope": "meetings:read"}
    values |= {"plan": "pro", "previous_plan": "free", "keep_old_until": 0}
    values |= {"credential_type": "access_token", "token_hash": "0" * 64}
    fields = {f for f in kind.__struct_fields__}
    return kind(**{k: v for k, v in values.items() if k in fields})  # type: ignore[no-any-return]


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
def test_every_kind_has_an_event_subject_and_round_trips(kind: type) -> None:
    event = sample(kind)
    assert subject_of(event).startswith(f"{subjects.PREFIX}.events.")
    assert decode_event(__import__("msgspec").json.encode(event)) == event


def test_subjects_are_distinct() -> None:
    assert len({subject_of(sample(k)) for k in KINDS}) == len(KINDS)


def test_audit_subject_is_per_app() -> None:
    assert audit_subject("mavio_client_abc") == f"{subjects.PREFIX}.audit.mavio_client_abc"
