"""Leak reports, pure parts: the report's shape and its 400 messages, what a pasted credential is, and
a leaked client secret invalidated with no overlap (only the leaked one of current and previous)."""

from __future__ import annotations

import pytest

from services.gateway.developer.leaks import kind_of, masked
from services.gateway.leaks import ReportItem, parse_report, token_hash
from services.registry import client_secrets
from shared.apps.records import AppRecord
from shared.apps.secrets import secret_matches
from shared.errors import InvalidRequest
from shared.tokens import mint, mint_client_secret, new_family_id
from tests.unit.test_registry_domain import NOW, SIGNER, record


def test_a_report_in_githubs_format_is_read_in_order_and_extra_fields_are_ignored() -> None:
    body = (
        b'[{"token": "a", "type": "t1", "url": "https://x", "source": "content", "extra": 1},'
        b' {"token": "b", "type": "t2"}]'
    )
    assert parse_report(body) == [
        ReportItem(token="a", type="t1", url="https://x", source="content"),
        ReportItem(token="b", type="t2"),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"token=abc", "the body is not JSON"),
        (b"", "the body is not JSON"),
        (b'{"token": "a", "type": "t"}', "the body must be a JSON array of {token, type, url, source}"),
        (b'"a"', "the body must be a JSON array"),
        (b"[]", "the report is empty"),
        (b'[{"token": 1, "type": "t"}]', "each item must be {token, type, url, source}"),
        (b'[{"type": "t"}]', "each item must be {token, type, url, source}"),
        (b"[1]", "each item must be"),
    ],
)
def test_a_malformed_report_is_a_clear_400(body: bytes, message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_report(body)
    assert caught.value.status == 400 and message in caught.value.description


def test_token_hash_is_the_sha256_hex_of_the_raw_string() -> None:
    assert token_hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_what_a_pasted_credential_is_and_how_it_is_shown() -> None:
    family = new_family_id()
    access, refresh, secret = mint("at", family), mint("rt", family), mint_client_secret()
    assert [kind_of(v) for v in (access, refresh, secret)] == [
        "access token",
        "refresh token",
        "client secret",
    ]
    for wrong in (mint("code", family), access[:-1] + ("0" if access[-1] != "0" else "1"), "hello", ""):
        assert kind_of(wrong) == ""
    assert masked(access) == access[:13] + "…" and masked(secret) == secret[:13] + "…"


def rotated_app() -> tuple[str, str, AppRecord]:
    """An app whose previous secret is still valid for an hour: (previous, current, record)."""
    old, current = mint_client_secret(), mint_client_secret()
    app = record(
        secret_hash=SIGNER.sign(current),
        previous_secret_hash=SIGNER.sign(old),
        previous_secret_until=NOW + 3600,
    )
    return old, current, app


def test_a_leaked_current_secret_stops_at_once_and_a_new_one_ends_the_banner() -> None:
    old, current, app = rotated_app()
    leaked = client_secrets.leaked(app, SIGNER.sign(current), url="https://x", now=NOW)
    assert not secret_matches(leaked, current, SIGNER, now=NOW)
    assert secret_matches(leaked, old, SIGNER, now=NOW)  # not the one reported: keeps its window
    assert (leaked.leaked_secret_hash, leaked.leaked_url, leaked.leaked_at) == (
        SIGNER.sign(current),
        "https://x",
        NOW,
    )
    fresh = client_secrets.rotated(leaked, SIGNER.sign(mint_client_secret()), keep_old_seconds=3600, now=NOW)
    assert (fresh.leaked_url, fresh.leaked_at, fresh.leaked_secret_hash) == ("", 0, SIGNER.sign(current))


def test_a_leaked_previous_secret_stops_and_the_current_one_stays() -> None:
    old, current, app = rotated_app()
    leaked = client_secrets.leaked(app, SIGNER.sign(old), url="", now=NOW)
    assert not secret_matches(leaked, old, SIGNER, now=NOW)
    assert secret_matches(leaked, current, SIGNER, now=NOW)
