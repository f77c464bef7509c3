"""Consent pages of the authorize service (pure): what a page stores, when a decision on it is refused."""

from __future__ import annotations

import msgspec
import pytest

from services.authorize import pages
from services.authorize.checks import AuthorizationRequest
from services.authorize.pages import ConsentRecord
from shared.grants.records import GrantRecord
from shared.tokens import Signer

REQUEST = AuthorizationRequest(
    client_id="mavio_client_AAAAAAAAAAAAAAAA",
    redirect_uri="http://127.0.0.1:5000/cb?x=1",
    scopes=("meetings:read", "transcripts:read"),
    state="st",
    code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    code_challenge_method="S256",
)
SIGNER = Signer(b"k" * 32)
GRANT = GrantRecord(client_id=REQUEST.client_id, scope="meetings:read", authorized_at=500)


def shown(grant: GrantRecord | None = GRANT) -> pages.NewConsent:
    return pages.new_consent(REQUEST, session="s1", grant=grant, signer=SIGNER, now=1000, ttl=900)


def test_a_page_stores_the_checked_request_and_only_the_ids_signature() -> None:
    made = shown()
    assert made.signature == SIGNER.sign(made.consent) and len(made.consent) >= 43
    assert made.record.request == pages.checked_request(REQUEST)
    assert (made.record.session, made.record.grant_authorized_at) == ("s1", 500)
    assert (made.record.shown_at, made.record.expires_at) == (1000, 1900)
    assert made.consent.encode() not in msgspec.json.encode(made.record)
    assert shown().consent != made.consent


def test_a_fresh_page_for_its_session_may_be_decided() -> None:
    assert pages.refusal(shown().record, session="s1", grant=GRANT, now=1899) == ""
    assert pages.refusal(shown(None).record, session="s1", grant=None, now=1000) == ""


@pytest.mark.parametrize(
    ("record", "session", "grant", "now", "why"),
    [
        (None, "s1", GRANT, 1000, "unknown or already decided"),
        (shown().record, "s2", GRANT, 1000, "another session"),
        (shown().record, "", GRANT, 1000, "another session"),
        (shown().record, "s1", GRANT, 1900, "expired"),
        (shown().record, "s1", None, 1000, "grant changed"),  # revoked since
        (shown().record, "s1", msgspec.structs.replace(GRANT, authorized_at=600), 1000, "grant changed"),
        (shown(None).record, "s1", GRANT, 1000, "grant changed"),  # authorized from another page since
    ],
)
def test_a_decision_is_refused(
    record: ConsentRecord | None, session: str, grant: GrantRecord | None, now: int, why: str
) -> None:
    assert why in pages.refusal(record, session=session, grant=grant, now=now)


def test_the_stored_request_is_checked_again_as_this_query() -> None:
    checked = pages.checked_request(REQUEST)
    assert pages.query_of(checked) == [
        ("client_id", REQUEST.client_id),
        ("redirect_uri", REQUEST.redirect_uri),
        ("response_type", "code"),
        ("scope", "meetings:read transcripts:read"),
        ("state", "st"),
        ("code_challenge", REQUEST.code_challenge),
        ("code_challenge_method", "S256"),
    ]
    bare = msgspec.structs.replace(
        checked, state=None, code_challenge=None, code_challenge_method=None, redirect_uri_given=False
    )
    assert [name for name, _ in pages.query_of(bare)] == ["client_id", "response_type", "scope"]
