"""The authorization decision (pure): RFC 6749 §4.1.2, §4.1.2.1; codes stored as signatures only."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import msgspec
import pytest

from services.authorize import domain
from services.authorize.checks import AuthorizationRequest, check_request
from shared import tokens
from shared.errors import BadRedirectUri, InvalidScope
from shared.grants.records import GrantRecord
from shared.messages.authorize import RedirectTo, ShowConsent
from shared.messages.registry import AppView
from shared.scopes import ScopeCatalog

CATALOG = ScopeCatalog.load()
CB = "https://app.example/cb?tenant=7"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
SIGNER = tokens.Signer(b"k" * 32)


def app(**kw: object) -> AppView:
    base: dict[str, object] = {
        "client_id": "mavio_client_AAAAAAAAAAAAAAAA",
        "name": "Notes",
        "homepage_url": "https://app.example",
        "redirect_uris": [CB],
        "scopes": ["meetings:read", "transcripts:read", "recordings:read"],
        "owner_id": "u1",
    }
    base.update(kw)
    return msgspec.convert(base, AppView)


def query(**overrides: str | None) -> list[tuple[str, str]]:
    base: dict[str, str | None] = {
        "client_id": "mavio_client_AAAAAAAAAAAAAAAA",
        "redirect_uri": CB,
        "response_type": "code",
        "scope": "transcripts:read meetings:read",
        "state": "s-1",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }
    base.update(overrides)
    return [(k, v) for k, v in base.items() if v is not None]


def checked(**overrides: str | None) -> AuthorizationRequest:
    return check_request(app(), CB, query(**overrides), catalog=CATALOG)


def params(location: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(location).query))


# --- precheck -----------------------------------------------------------------------------------


def test_precheck_returns_the_checked_request_in_catalog_order() -> None:
    result = domain.precheck(app(), query(), catalog=CATALOG)
    assert isinstance(result, AuthorizationRequest)
    assert result.scopes == ("meetings:read", "transcripts:read")
    assert result.redirect_uri == CB


def test_precheck_raises_never_redirect_errors_for_the_redirect_uri() -> None:
    with pytest.raises(BadRedirectUri):
        domain.precheck(app(), query(redirect_uri="https://evil.example/cb"), catalog=CATALOG)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"scope": "nope:read"}, "invalid_scope"),
        ({"scope": "webhooks:write"}, "invalid_scope"),
    ],
)
def test_precheck_redirects_other_errors_with_state(overrides: dict[str, str | None], error: str) -> None:
    result = domain.precheck(app(), query(**overrides), catalog=CATALOG)
    assert isinstance(result, RedirectTo)
    assert result.location.startswith(CB + "&")
    got = params(result.location)
    assert got["error"] == error and got["state"] == "s-1" and got["tenant"] == "7"
    assert got["error_description"]


def test_precheck_redirects_a_repeated_parameter() -> None:
    result = domain.precheck(app(), [*query(), ("scope", "meetings:read")], catalog=CATALOG)
    assert isinstance(result, RedirectTo)
    assert params(result.location)["error"] == "invalid_request"


# --- plan, deny ---------------------------------------------------------------------------------


def test_plan_check_names_the_scope_but_never_the_plan() -> None:
    request = checked(scope="meetings:read recordings:read")
    refusal = domain.check_user_plan(request, "free", catalog=CATALOG)
    assert isinstance(refusal, RedirectTo)
    got = params(refusal.location)
    assert got["error"] == "invalid_scope" and got["state"] == "s-1"
    assert "recordings:read" in got["error_description"] and "free" not in got["error_description"]
    assert domain.check_user_plan(request, "pro", catalog=CATALOG) is None


def test_denied_is_access_denied_with_state() -> None:
    got = params(domain.denied(checked()).location)
    assert got["error"] == "access_denied" and got["state"] == "s-1"


def test_denied_without_state_has_no_state() -> None:
    assert "state" not in params(domain.denied(checked(state=None)).location)


# --- granted scopes -----------------------------------------------------------------------------


def test_granted_scopes_keep_catalog_order() -> None:
    request = checked()
    assert domain.granted_scopes(request, ["transcripts:read", "meetings:read"], catalog=CATALOG) == (
        "meetings:read",
        "transcripts:read",
    )
    assert domain.granted_scopes(request, ["transcripts:read"], catalog=CATALOG) == ("transcripts:read",)


def test_nothing_granted_is_refused() -> None:
    with pytest.raises(domain.NothingGranted):
        domain.granted_scopes(checked(), [], catalog=CATALOG)


def test_a_scope_that_was_not_requested_cannot_be_granted() -> None:
    with pytest.raises(InvalidScope) as err:
        domain.granted_scopes(checked(), ["meetings:read", "recordings:read<b>"], catalog=CATALOG)
    assert "recordings" not in err.value.description  # never echoes the form's text


# --- codes and grants ---------------------------------------------------------------------------


def test_new_code_binds_the_request_and_stores_only_a_signature() -> None:
    request = checked()
    issued = domain.new_code(
        request, user_id="u9", scopes=("meetings:read",), signer=SIGNER, now=1000, ttl=600
    )
    parsed = tokens.parse(issued.code, "code")
    assert parsed is not None and parsed.family == issued.record.family
    assert issued.signature == SIGNER.sign(issued.code)
    record = issued.record
    assert (record.client_id, record.user_id, record.redirect_uri) == (request.client_id, "u9", CB)
    assert record.scope == "meetings:read"
    assert (record.code_challenge, record.code_challenge_method) == (CHALLENGE, "S256")
    assert (record.issued_at, record.expires_at) == (1000, 1600)
    assert issued.code not in msgspec.json.encode(record).decode()


def test_codes_are_unique_and_have_fresh_families() -> None:
    request = checked()
    codes = [
        domain.new_code(request, user_id="u", scopes=("meetings:read",), signer=SIGNER, now=0, ttl=1)
        for _ in range(50)
    ]
    assert len({c.code for c in codes}) == 50
    assert len({c.record.family for c in codes}) == 50


def test_code_location_keeps_the_redirect_uri_query_and_adds_code_and_state() -> None:
    location = domain.code_location(checked(), "mavio_code_x").location
    assert location == CB + "&code=mavio_code_x&state=s-1"


def test_grant_record_holds_the_decided_scopes_and_keeps_last_use() -> None:
    previous = GrantRecord(client_id="c", scope="a b c", authorized_at=1, last_used_at=5)
    grant = domain.grant_record(checked(), ("meetings:read",), now=100, previous=previous, catalog=CATALOG)
    assert (grant.scope, grant.authorized_at, grant.last_used_at) == ("meetings:read", 100, 5)
    first = domain.grant_record(checked(), ("meetings:read",), now=100, previous=None, catalog=CATALOG)
    assert first.last_used_at == 0 and first.client_id == "mavio_client_AAAAAAAAAAAAAAAA"


@pytest.mark.parametrize(
    ("kept", "decided", "expected"),
    [
        pytest.param(frozenset({"recordings:read"}), ("meetings:read",), "meetings:read recordings:read",
                     id="unrequested-live-scope-kept"),
        pytest.param(frozenset({"transcripts:read"}), ("meetings:read",), "meetings:read",
                     id="requested-and-unticked-dropped"),
        pytest.param(frozenset({"meetings:read"}), ("meetings:read", "transcripts:read"),
                     "meetings:read transcripts:read", id="new-scope-added"),
    ],
)  # fmt: skip
def test_grant_record_merges_the_live_grant(
    kept: frozenset[str], decided: tuple[str, ...], expected: str
) -> None:
    grant = domain.grant_record(checked(), decided, now=1, previous=None, kept=kept, catalog=CATALOG)
    assert grant.scope == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ([], False),
        ([("prompt", "consent")], True),
        ([("prompt", "login consent")], True),
        ([("prompt", "login")], False),
        ([("prompt", "")], False),
        ([("prompt", "consentx")], False),
    ],
)
def test_prompt_consent_asks_again(query: list[tuple[str, str]], expected: bool) -> None:
    assert domain.prompts_for_consent(query) is expected


def test_remembered_scopes_are_the_requested_ones_the_live_grant_covers() -> None:
    request = checked()
    assert domain.remembered(request, frozenset({"transcripts:read", "recordings:read"})) == [
        "transcripts:read"
    ]
    assert domain.remembered(request, frozenset()) == []
    shown = domain.consent(app(), request, remembered=["transcripts:read"])
    assert shown.remembered == ["transcripts:read"]


def test_consent_carries_the_app_and_the_checked_request() -> None:
    shown = domain.consent(app(), checked(), "pick one")
    assert isinstance(shown, ShowConsent)
    assert shown.request.scopes == ["meetings:read", "transcripts:read"]
    assert shown.request.redirect_uri == CB and shown.notice == "pick one"
    assert shown.request.code_challenge == CHALLENGE


def test_an_omitted_redirect_uri_is_remembered_for_the_token_request() -> None:
    request = checked(redirect_uri=None)
    assert request.redirect_uri == CB and request.redirect_uri_given is False
    issued = domain.new_code(request, user_id="u", scopes=("meetings:read",), signer=SIGNER, now=0, ttl=1)
    assert issued.record.redirect_uri == CB and issued.record.redirect_uri_given is False
    assert domain.consent(app(), request).request.redirect_uri_given is False
    assert checked().redirect_uri_given is True
