"""Developer webhooks' pure rules (issue 26): which audit event makes which webhook event (one per
grant; none for expiry, RFC 7009 or deletion), the payload shape, the retry schedule with jitter, the
5-day disabling, the settings, and the SSRF address rule (``shared.webhooks.addresses``)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.webhooks import domain
from services.webhooks.sender import signature_header
from shared.config import ConfigError, load_settings
from shared.messages import events as ev
from shared.webhooks.addresses import host_refusal, refusal

C = "mavio_client_x"


def _revoked(reason: str, **kw: object) -> ev.TokensRevoked:
    fields: dict[str, object] = {
        "at": 1.5,
        "client_id": C,
        "families": ["f"],
        "user_id": "u1",
        "reason": reason,
    }
    return ev.TokensRevoked(**(fields | kw))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("event", "kind", "reason"),
    [
        (_revoked("user_revoked", grant_ended=True), "authorization.revoked", "user"),
        (_revoked("operator", grant_ended=True), "authorization.revoked", "operator"),
        (_revoked("plan", grant_ended=True), "authorization.revoked", "plan"),
        (_revoked("app_revoke_all"), "tokens.revoked", "owner"),
        (_revoked("refresh_reused"), "tokens.revoked", "refresh_token_reuse"),
        (_revoked("code_reused"), "tokens.revoked", "code_reuse"),
        (_revoked("leaked", url="https://gist.example/1"), "tokens.revoked", "leaked"),
    ],
)
def test_each_revocation_reason_makes_its_event(event: ev.TokensRevoked, kind: str, reason: str) -> None:
    [hook] = domain.webhook_events(event)
    assert (hook.type, hook.data["reason"], hook.data["sub"], hook.data["client_id"]) == (
        kind,
        reason,
        "u1",
        C,
    )
    assert hook.data["grant"] == f"{C}:u1" and hook.at == 1.5
    assert ("url" in hook.data) == (reason == "leaked")


@pytest.mark.parametrize(
    "event",
    [
        _revoked("rfc7009"),  # the app's own revocation
        _revoked("app_deleted"),
        _revoked("user_revoked"),  # a later batch of a grant already announced
        _revoked("plan"),  # a plan cut pending codes only; the grant lives on
        ev.GrantExpired(at=1.0, client_id=C, family="f", user_id="u1"),
        ev.AppDeleted(at=1.0, client_id=C),
        ev.RefreshReused(at=1.0, client_id=C, family="f", user_id="u1"),  # its TokensRevoked speaks
        ev.AppChanged(at=1.0, client_id=C, fields=["name"]),
    ],
)
def test_no_webhook_for_expiry_rfc7009_deletion_or_partial_revocations(event: ev.Event) -> None:
    assert domain.webhook_events(event) == []


def test_revoke_all_makes_one_event_per_user() -> None:
    event = _revoked("app_revoke_all", user_id="", users=["a", "b", "a"])
    assert [h.data["sub"] for h in domain.webhook_events(event)] == ["a", "b"]


def test_narrowing_names_what_was_removed_and_what_is_left() -> None:
    event = ev.ScopesNarrowed(
        at=2.0, client_id=C, user_id="u1", families=["f"], scope="a b", removed_scopes=["c"]
    )
    [hook] = domain.webhook_events(event)
    assert hook.type == "authorization.narrowed"
    assert hook.data == {
        "grant": f"{C}:u1",
        "sub": "u1",
        "client_id": C,
        "reason": "plan",
        "removed_scopes": ["c"],
        "scope": "a b",
    }


def test_a_leaked_credential_event_carries_no_secret() -> None:
    event = ev.CredentialLeaked(
        at=1.0, client_id=C, credential_type="client_secret", token_hash="ab" * 32, url="u"
    )
    [hook] = domain.webhook_events(event)
    assert hook.type == "credential.leaked" and hook.data["token_hash"] == "ab" * 32


def test_the_payload_is_type_timestamp_data() -> None:
    body = json.loads(domain.payload(domain.test_event(C, 1_700_000_000.25)))
    assert body == {"type": "webhook.test", "timestamp": "2023-11-14T22:13:20.250Z", "data": {"client_id": C}}


def test_delivery_ids_are_stable_per_source() -> None:
    assert domain.delivery_id("audit:7", 0) == domain.delivery_id("audit:7", 0)
    assert (
        len(
            {
                domain.delivery_id("audit:7", 0),
                domain.delivery_id("audit:7", 1),
                domain.delivery_id("audit:8", 0),
            }
        )
        == 3
    )


SCHEDULE = (5.0, 300.0, 1800.0)


@given(st.integers(1, 3), st.floats(0, 1, exclude_max=True))
def test_retry_delays_follow_the_schedule_within_the_jitter(failed: int, r: float) -> None:
    delay = domain.retry_delay(SCHEDULE, failed, lambda: r)
    base = SCHEDULE[failed - 1]
    assert delay is not None and base * 0.9 <= delay <= base * 1.1


def test_after_the_last_retry_the_delivery_has_failed() -> None:
    assert domain.retry_delay(SCHEDULE, 4) is None and domain.retry_delay((), 1) is None


def test_five_days_of_failures_disable_the_endpoint() -> None:
    since = 1_000_000
    assert not domain.should_disable(0, since + 10 * 86_400)  # not failing
    assert not domain.should_disable(since, since + 5 * 86_400 - 1)
    assert domain.should_disable(since, since + 5 * 86_400)


def test_two_secrets_sign_twice() -> None:
    header = signature_header(["whsec_" + "A" * 32, "whsec_" + "B" * 32], "msg_1", 1_700_000_000, "{}")
    assert [part[:3] for part in header.split(" ")] == ["v1,", "v1,"]


def test_the_settings_read_the_schedule_and_limits() -> None:
    s = load_settings({})
    assert (s.webhook_timeout, s.webhook_max_in_flight) == (10.0, 10)
    assert s.webhook_retry_schedule == (5.0, 300.0, 1800.0, 7200.0, 18_000.0, 36_000.0, 36_000.0)
    s = load_settings({"MAVIO_WEBHOOK_RETRY_SCHEDULE": "250ms, 2s,1m,1h,1d"})
    assert s.webhook_retry_schedule == (0.25, 2.0, 60.0, 3600.0, 86_400.0)


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("MAVIO_WEBHOOK_RETRY_SCHEDULE", "5 minutes"),
        ("MAVIO_WEBHOOK_RETRY_SCHEDULE", "5s,-1s"),
        ("MAVIO_WEBHOOK_RETRY_SCHEDULE", "8d"),
        ("MAVIO_WEBHOOK_TIMEOUT", "0"),
        ("MAVIO_WEBHOOK_MAX_IN_FLIGHT", "0"),
    ],
)
def test_a_bad_webhook_setting_names_its_variable(var: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({var: value})
    assert str(info.value).startswith(f"{var}: ") and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("10.20.30.40", "private"),
        ("172.16.0.1", "private"),
        ("192.168.0.1", "private"),
        ("100.64.1.1", "carrier-grade NAT"),
        ("169.254.169.254", "cloud metadata"),
        ("169.254.10.10", "link-local"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("255.255.255.255", "reserved"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fd12:3456::1", "private"),
        ("ff02::1", "multicast"),
        ("fd00:ec2::254", "cloud metadata"),
        ("::ffff:127.0.0.1", "loopback (IPv4 inside IPv6)"),
        ("::ffff:169.254.169.254", "cloud metadata (IPv4 inside IPv6)"),
        ("64:ff9b::10.0.0.1", "private (IPv4 inside IPv6)"),
        ("2002:c0a8:0101::1", "private (IPv4 inside IPv6)"),  # 6to4 of 192.168.1.1
        ("::127.0.0.1", "loopback (IPv4 inside IPv6)"),
        ("::ffff:0:10.0.0.1", "private (IPv4 inside IPv6)"),  # IPv4-translated (SIIT)
        ("192.88.99.1", "6to4 relay anycast"),
        ("64:ff9b:1::a00:1", "local-use NAT64"),
        ("64:ff9b:1:2::808:808", "local-use NAT64"),  # even when it carries a public IPv4 address
        ("2001::1", "IETF protocol assignment"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "IETF protocol assignment"),  # Teredo
        ("2001:4:112::1", "IETF protocol assignment"),
        ("2001:20::1", "IETF protocol assignment"),
    ],
)
def test_addresses_that_are_not_public(address: str, why: str) -> None:
    assert refusal(address) == why


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_public_addresses(address: str) -> None:
    assert refusal(address) is None


# One address of each IANA special-purpose block (IPv4, IPv6) not globally routable, or in 2001::/23.
SPECIAL_PURPOSE = [
    *("0.1.2.3", "10.0.0.1", "100.100.0.1", "127.0.0.2", "169.254.1.1", "172.31.0.1", "192.0.0.9"),
    *("192.0.0.170", "192.0.2.1", "192.88.99.2", "192.168.1.1", "198.19.0.1", "198.51.100.1"),
    *("203.0.113.1", "240.0.0.1", "255.255.255.255", "::", "::1", "::ffff:10.0.0.1", "64:ff9b:1::1"),
    *("100::1", "2001::1", "2001:1::1", "2001:2::1", "2001:3::1", "2001:10::1", "2001:db8::1"),
    *("fc00::1", "fe80::1"),
]


@pytest.mark.parametrize("address", SPECIAL_PURPOSE)
def test_no_address_that_is_not_globally_routable_is_accepted(address: str) -> None:
    assert refusal(address) is not None


@pytest.mark.parametrize(
    ("host", "why"),
    [
        ("localhost", "loopback"),
        ("api.localhost", "loopback"),
        ("[::1]", "loopback"),
        ("10.0.0.1", "private"),
        ("hooks.example", None),
        ("8.8.8.8", None),
    ],
)
def test_a_urls_literal_host(host: str, why: str | None) -> None:
    assert host_refusal(host) == why
