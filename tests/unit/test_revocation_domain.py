"""The revocation service's pure decisions, table-driven: RFC 7009 ownership, plan narrowing, connected
grants, the sweeper's work-list members and lease time, batching, and audit lines."""

from __future__ import annotations

import asyncio

import pytest

from services.cli.audit import audit_line, iso_utc
from services.revocation.batching import gather_bounded
from services.revocation.domain import (
    check_owner,
    chunks,
    lease_ttl_ms,
    parse_pending_member,
    unique,
)
from shared.errors import UnauthorizedClient
from shared.grants import keys as grant_keys
from shared.grants.sweep import DueFamily, parse_expiry_member
from shared.messages import events as ev

PRO = frozenset({"meetings:read", "transcripts:read", "users:read", "meetings:write", "summaries:read"})


def test_a_client_may_revoke_its_own_token() -> None:
    check_owner("mavio_client_A", "mavio_client_A")


def test_another_clients_token_is_unauthorized_client() -> None:
    with pytest.raises(UnauthorizedClient) as caught:
        check_owner("mavio_client_A", "mavio_client_B")
    assert caught.value.error == "unauthorized_client"
    assert caught.value.status == 400
    assert "mavio_client_A" not in caught.value.description  # the owner is only in the debug text


def test_expiry_members_round_trip_and_malformed_ones_are_refused() -> None:
    member = grant_keys.expiry_member("mavio_client_A", "FAMILY0123456789", "usr_1")
    assert parse_expiry_member(member) == DueFamily(member, "mavio_client_A", "FAMILY0123456789", "usr_1")
    for bad in ("", "mavio_client_A FAMILY", "a b c d", "a  c", " a b"):
        assert parse_expiry_member(bad) is None, bad


def test_pending_members() -> None:
    assert parse_pending_member(grant_keys.pending_code_member("usr_1", "FAM")) == ("usr_1", "FAM")
    for bad in ("usr_1", "usr_1 ", " FAM", "usr_1 FAM extra"):
        assert parse_pending_member(bad) is None, bad


@pytest.mark.parametrize(("interval", "ms"), [(10.0, 30_000), (0.2, 600), (0.05, 300)])
def test_the_lease_is_a_small_multiple_of_the_interval(interval: float, ms: int) -> None:
    assert lease_ttl_ms(interval) == ms


def test_chunks_and_unique() -> None:
    assert [list(c) for c in chunks(list(range(7)), 3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(chunks([], 3)) == []
    assert unique(["b", "a", "b", "c", "a"]) == ["b", "a", "c"]


async def test_gather_bounded_keeps_order_and_limits_concurrency() -> None:
    running = peak = 0

    async def work(n: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001 * (n % 3))
        running -= 1
        return n * n

    assert await gather_bounded(list(range(50)), work, limit=4) == [n * n for n in range(50)]
    assert peak == 4
    assert await gather_bounded([], work) == []


AT = 1_767_225_600.5  # 2026-01-01T00:00:00.500Z


@pytest.mark.parametrize(
    ("event", "line"),
    [
        (
            ev.TokensRevoked(at=AT, client_id="c", families=["F1", "F2"], user_id="usr_1", reason="rfc7009"),
            "2026-01-01T00:00:00.500Z  tokens.revoked  actor=-  user=usr_1  family=F1,F2  reason=rfc7009",
        ),
        (
            ev.TokensRevoked(at=AT, client_id="c", families=[], reason="app_revoke_all"),
            "2026-01-01T00:00:00.500Z  tokens.revoked  actor=-  user=-  family=-  reason=app_revoke_all",
        ),
        (
            ev.GrantExpired(at=AT, client_id="c", family="F1", user_id="usr_1"),
            "2026-01-01T00:00:00.500Z  grant.expired  actor=-  user=usr_1  family=F1",
        ),
        (
            ev.RefreshReused(at=AT, client_id="c", family="F1", user_id="usr_1"),
            "2026-01-01T00:00:00.500Z  refresh.reused  actor=-  user=usr_1  family=F1",
        ),
        (
            ev.ScopesNarrowed(at=AT, client_id="c", user_id="usr_1", families=["F1"], scope="a b"),
            "2026-01-01T00:00:00.500Z  scopes.narrowed  actor=-  user=usr_1  family=F1  scope=a,b",
        ),
        (
            ev.SecretRegenerated(at=AT, client_id="c", actor="usr_owner", keep_old_until=1_767_229_200),
            "2026-01-01T00:00:00.500Z  secret.regenerated  actor=usr_owner  user=-  family=-  "
            "keep_old_until=1767229200",
        ),
        (
            ev.AppDeleted(at=AT, client_id="c"),
            "2026-01-01T00:00:00.500Z  app.deleted  actor=-  user=-  family=-",
        ),
        (
            ev.AppCreated(at=AT, client_id="c", actor="usr_owner"),
            "2026-01-01T00:00:00.500Z  app.created  actor=usr_owner  user=-  family=-",
        ),
        (
            ev.AppChanged(at=AT, client_id="c", actor="usr_owner", fields=["name", "redirect_uris"]),
            "2026-01-01T00:00:00.500Z  app.changed  actor=usr_owner  user=-  family=-  "
            "fields=name,redirect_uris",
        ),
        (
            ev.AppChanged(at=AT, client_id="c", actor="usr_owner", fields=["webhook_url"], webhook="set"),
            "2026-01-01T00:00:00.500Z  app.changed  actor=usr_owner  user=-  family=-  "
            "fields=webhook_url  webhook=set",
        ),
        (
            ev.AppChanged(at=AT, client_id="c", actor="usr_owner", webhook="secret_regenerated"),
            "2026-01-01T00:00:00.500Z  app.changed  actor=usr_owner  user=-  family=-  "
            "webhook=secret_regenerated",
        ),
        (
            ev.ScopesNarrowed(
                at=AT, client_id="c", user_id="usr_1", families=["F1"], scope="a", removed_scopes=["b", "c"]
            ),
            "2026-01-01T00:00:00.500Z  scopes.narrowed  actor=-  user=usr_1  family=F1  scope=a  removed=b,c",
        ),
        (
            ev.CodeReused(at=AT, client_id="c", actor="system", family="F1", user_id="usr_1"),
            "2026-01-01T00:00:00.500Z  code.reused  actor=system  user=usr_1  family=F1",
        ),
        (
            ev.CodeReused(
                at=AT, client_id="c", actor="system", family="F1", user_id="usr_1", presenting_client="c"
            ),
            "2026-01-01T00:00:00.500Z  code.reused  actor=system  user=usr_1  family=F1  presented_by=c",
        ),
        (
            ev.RefreshReplayed(
                at=AT, client_id="c", actor="client", family="F1", user_id="usr_1", scope="a b"
            ),
            "2026-01-01T00:00:00.500Z  refresh.replayed  actor=client  user=usr_1  family=F1  scope=a,b",
        ),
        (
            ev.RefreshReplayed(
                at=AT,
                client_id="c",
                actor="client",
                family="F1",
                user_id="usr_1",
                scope="a b",
                requested="a",
                suspicious=True,
            ),
            "2026-01-01T00:00:00.500Z  refresh.replayed  actor=client  user=usr_1  family=F1  scope=a,b  "
            "suspicious  requested=a",
        ),
    ],
)
def test_audit_lines(event: ev.Event, line: str) -> None:
    assert audit_line(event) == line


def test_iso_utc() -> None:
    assert iso_utc(0) == "1970-01-01T00:00:00.000Z"
