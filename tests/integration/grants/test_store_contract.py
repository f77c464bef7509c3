"""The token store's atomic operations on a real redis-server: one consumption per code and one rotation
per refresh token under concurrency, the replay window, reuse revoking a family, tombstones, scope
narrowing, and idempotent index counting (active authorizations)."""

from __future__ import annotations

import asyncio
import time

import msgspec
import pytest

from services.token.issuance import first_records, mint_pair
from shared import keys as app_keys
from shared.grants import keys as grant_keys
from shared.grants.calls import GrantStats
from shared.grants.records import CodeRecord, RefreshTokenRecord
from shared.grants.storage import (
    CodeTaken,
    FirstPair,
    Refused,
    Replayed,
    ReplayRefused,
    Reused,
    Rotated,
    Rotation,
)
from shared.grants.store import RedisGrantStore
from shared.tokens import Signer, mint, new_family_id
from tests.support.system import System

SIGNER = Signer(b"s" * 32)
CLIENT = "mavio_client_StoreTest0000001"


def make_store(system: System, *, window_ms: int = 2000) -> RedisGrantStore:
    return RedisGrantStore(
        system.redis,
        access_ttl=60,
        refresh_ttl=600,
        replay_window_ms=window_ms,
        hold_ttl=30,
        cluster=system.settings.redis_cluster,
    )


async def first_pair(
    store: RedisGrantStore, *, scope: str = "a b c", user: str = "usr_1"
) -> tuple[str, str, str]:
    """A family with its first pair issued: (family, access token, refresh token)."""
    family, now = new_family_id(), int(time.time())
    pair = mint_pair(family, SIGNER)
    access, refresh = first_records(
        pair,
        family=family,
        client_id=CLIENT,
        user_id=user,
        scope=scope,
        now=now,
        access_ttl=60,
        refresh_ttl=600,
    )
    ok = await store.issue_first(
        FirstPair(
            family=family,
            client_id=CLIENT,
            user_id=user,
            scope=scope,
            access_sig=pair.access_sig,
            access_record=access,
            refresh_sig=pair.refresh_sig,
            refresh_record=refresh,
        ),
        now=now,
    )
    assert ok
    return family, pair.access_token, pair.refresh_token


def rotation_to(family: str, presented: str) -> tuple[Rotation, str]:
    """A rotation of ``presented`` and the successor refresh token it would issue."""
    successor = mint_pair(family, SIGNER)
    rot = Rotation(
        family=family,
        presented_sig=SIGNER.sign(presented),
        client_id=CLIENT,
        scope="",
        access_sig=successor.access_sig,
        refresh_sig=successor.refresh_sig,
        sealed=b"sealed",
    )
    return rot, successor.refresh_token


def rotation(family: str, presented: str, *, scope: str = "", client: str = CLIENT) -> Rotation:
    successor = mint_pair(family, SIGNER)
    return Rotation(
        family=family,
        presented_sig=SIGNER.sign(presented),
        client_id=client,
        scope=scope,
        access_sig=successor.access_sig,
        refresh_sig=successor.refresh_sig,
        sealed=successor.access_token.encode()[:8] + b"-sealed",  # opaque to the store
    )


async def test_a_code_is_taken_exactly_once_under_concurrency_and_reuse_revokes(system: System) -> None:
    store = make_store(system)
    family = new_family_id()
    code = mint("code", family)
    now = int(time.time())
    record = pending_code(family, user_id="usr_once", scope="a", now=now)  # a record naming its client
    await system.redis.set(grant_keys.code(family, SIGNER.sign(code)), msgspec.json.encode(record), ex=60)
    outcomes = await asyncio.gather(
        *(store.consume(family, SIGNER.sign(code), client_id=CLIENT, now=now) for _ in range(25))
    )
    assert sum(isinstance(o, CodeTaken) for o in outcomes) == 1
    assert (
        sum(isinstance(o, Reused) for o in outcomes) >= 1
    )  # the first reuse revokes; later ones find a tombstone
    assert all(isinstance(o, CodeTaken | Reused) or o == Refused("revoked") for o in outcomes)
    assert await system.redis.exists(grant_keys.family_revoked(family))


async def test_unknown_code_and_revoked_family(system: System) -> None:
    store = make_store(system)
    family = new_family_id()
    assert await store.consume(family, "0" * 64, client_id=CLIENT, now=int(time.time())) == Refused("unknown")
    await store.revoke(family, now=int(time.time()))
    assert await store.consume(family, "0" * 64, client_id=CLIENT, now=int(time.time())) == Refused("revoked")


async def test_a_family_is_known_while_live_and_once_revoked_until_its_tombstone_expires(
    system: System,
) -> None:
    """How a leak report tells a dead token Mavio issued from a made-up one (``family_known``)."""
    store = make_store(system)
    family, _, _ = await first_pair(store)
    assert await store.family_known(family)
    await store.revoke(family, now=int(time.time()))
    assert await store.family_known(family)
    assert 0 < await system.redis.ttl(grant_keys.family_revoked(family)) <= 600  # the refresh token's TTL
    assert not await store.family_known(new_family_id())


async def test_exactly_one_rotation_and_every_racer_gets_the_same_successor(system: System) -> None:
    store = make_store(system)
    family, _, presented = await first_pair(store)
    now = int(time.time())
    outcomes = await asyncio.gather(*(store.rotate(rotation(family, presented), now=now) for _ in range(30)))
    rotated = [o for o in outcomes if isinstance(o, Rotated)]
    replayed = [o for o in outcomes if isinstance(o, Replayed)]
    assert len(rotated) == 1 and len(replayed) == 29
    assert len({o.sealed for o in replayed}) == 1
    raw = await system.redis.get(grant_keys.refresh_token(family, SIGNER.sign(presented)))
    assert msgspec.json.decode(raw, type=RefreshTokenRecord).rotated_at == now  # kept, marked
    ttl = await system.redis.ttl(grant_keys.refresh_token(family, SIGNER.sign(presented)))
    assert 590 <= ttl <= 600  # its original expiry, not a new one


async def test_after_the_window_reuse_revokes_the_whole_family(system: System) -> None:
    store = make_store(system, window_ms=0)
    family, access, presented = await first_pair(store)
    first = await store.rotate(rotation(family, presented), now=int(time.time()))
    assert isinstance(first, Rotated)
    again = await store.rotate(rotation(family, presented), now=int(time.time()))
    assert isinstance(again, Reused)
    assert again.revoked.client_id == CLIENT and again.revoked.user_id == "usr_1"
    assert again.revoked.tokens == 4  # first pair + successor pair
    remaining = [k async for k in system.redis.scan_iter(match=f"mavio:{{f:{family}}}:*")]
    assert remaining == [grant_keys.family_revoked(family).encode()]
    assert await store.get_access(family, SIGNER.sign(access)) is None
    assert await store.rotate(rotation(family, presented), now=int(time.time())) == Refused("revoked")


@pytest.mark.parametrize(
    ("rotated_with", "replayed_with", "same"),
    [
        ("", "", True),
        ("", "a b c", True),  # the token's own scope, spelled out
        ("", "c b a", True),
        ("c a", "a c", True),
        ("c a", "", False),  # the token's whole scope after a narrowed rotation
        ("", "a", False),
        ("a", "a d", False),  # wider than the token's
        ("", "d", False),
    ],
)
async def test_a_replay_gets_the_pair_only_for_the_scope_the_rotation_issued(
    system: System, rotated_with: str, replayed_with: str, same: bool
) -> None:
    """Issue 22: another scope is refused within the window, and nothing is revoked."""
    store = make_store(system)
    family, access, presented = await first_pair(store)
    now = int(time.time())
    rotated = await store.rotate(rotation(family, presented, scope=rotated_with), now=now)
    assert isinstance(rotated, Rotated)
    replay = await store.rotate(rotation(family, presented, scope=replayed_with), now=now)
    if same:
        assert isinstance(replay, Replayed) and (replay.scope, replay.user_id) == (rotated.scope, "usr_1")
    else:
        assert replay == ReplayRefused(scope=rotated.scope, user_id="usr_1")
    assert not await system.redis.exists(grant_keys.family_revoked(family))
    assert await store.get_access(family, SIGNER.sign(access)) is not None
    again = await store.rotate(rotation(family, presented, scope=rotated_with), now=now)
    assert isinstance(again, Replayed)  # the rightful retry still gets its pair


async def test_issue_into_a_revoked_family_writes_nothing(system: System) -> None:
    store = make_store(system)
    family, _, _ = await first_pair(store)
    revoked = await store.revoke(family, now=int(time.time()))
    assert revoked.tokens == 2
    pair = mint_pair(family, SIGNER)
    first = FirstPair(
        family=family,
        client_id=CLIENT,
        user_id="u",
        scope="a",
        access_sig=pair.access_sig,
        access_record=b"{}",
        refresh_sig=pair.refresh_sig,
        refresh_record=b"{}",
    )
    assert await store.issue_first(first, now=int(time.time())) is False
    assert await store.get_access(family, pair.access_sig) is None


def counted_pair(family: str, user: str) -> tuple[FirstPair, str]:
    pair = mint_pair(family, SIGNER)
    first = FirstPair(
        family=family,
        client_id=CLIENT,
        user_id=user,
        scope="a",
        access_sig=pair.access_sig,
        access_record=b'{"scope": "a"}',
        refresh_sig=pair.refresh_sig,
        refresh_record=b'{"scope": "a"}',
    )
    return first, pair.access_token


async def test_a_first_pair_issued_counted_is_in_every_index(system: System) -> None:
    store = make_store(system)
    family, user, now = new_family_id(), f"usr_{new_family_id()}", int(time.time())
    first, _ = counted_pair(family, user)
    assert await store.issue_first_counted(first, now=now) is True
    assert await store.get_access(family, first.access_sig) is not None
    assert await store.families_of(user, CLIENT) == [family]
    member = grant_keys.expiry_member(CLIENT, family, user)
    assert await system.redis.zscore(grant_keys.expiry_queue(), member) == now + 600
    assert await system.redis.hget(grant_keys.family(family), "indexed_until") == str(now + 600).encode()


async def test_a_first_pair_counted_into_a_revoked_family_is_uncounted_and_unwritten(system: System) -> None:
    store = make_store(system)
    family, user, now = new_family_id(), f"usr_{new_family_id()}", int(time.time())
    await store.revoke(family, now=now)
    first, _ = counted_pair(family, user)
    assert await store.issue_first_counted(first, now=now) is False
    assert await store.get_access(family, first.access_sig) is None
    assert await store.families_of(user, CLIENT) == []
    assert (
        await system.redis.zscore(grant_keys.expiry_queue(), grant_keys.expiry_member(CLIENT, family, user))
        is None
    )


@pytest.mark.parametrize(
    ("requested", "expected"),
    [("", "a b c"), ("c a", "a c"), ("b", "b"), ("a d", None), ("d", None)],
)
async def test_rotation_narrows_scope_and_never_widens(
    system: System, requested: str, expected: str | None
) -> None:
    store = make_store(system)
    family, _, presented = await first_pair(store)
    outcome = await store.rotate(rotation(family, presented, scope=requested), now=int(time.time()))
    if expected is None:
        assert outcome == Refused("invalid_scope")
    else:
        assert isinstance(outcome, Rotated) and outcome.scope == expected


async def test_rotation_by_another_client_is_refused_and_changes_nothing(system: System) -> None:
    store = make_store(system)
    family, _, presented = await first_pair(store)
    other = "mavio_client_SomeoneElse00000"
    assert await store.rotate(rotation(family, presented, client=other), now=int(time.time())) == Refused(
        "wrong_client"
    )
    assert isinstance(await store.rotate(rotation(family, presented), now=int(time.time())), Rotated)


async def test_a_rotation_asks_for_an_index_slide_once_the_expiry_moved_by_the_slack(system: System) -> None:
    store = make_store(system)  # refresh TTL 600 s: a slack of 60 s
    family, _, presented = await first_pair(store)
    base = int(time.time())  # the first pair was indexed until about base + 600

    async def rotate_at(now: int, token: str) -> tuple[Rotated, str]:
        rot, successor = rotation_to(family, token)
        out = await store.rotate(rot, now=now)
        assert isinstance(out, Rotated), out
        return out, successor

    first, token = await rotate_at(base + 10, presented)
    moved, token = await rotate_at(base + 75, token)
    again, token = await rotate_at(base + 85, token)
    assert (first.slide, moved.slide, again.slide) == (False, True, False)
    assert await system.redis.hget(grant_keys.family(family), "indexed_until") == str(base + 675).encode()


async def test_a_familys_member_index_stays_in_the_compact_encoding(system: System) -> None:
    """Member entries are key names; within 64 bytes Redis keeps the index as a listpack (goal: about
    1 KiB less per grant than a skiplist), also after rotations add members."""
    store = make_store(system)
    family, _, presented = await first_pair(store)
    rot, _ = rotation_to(family, presented)
    assert isinstance(await store.rotate(rot, now=int(time.time())), Rotated)
    members = await system.redis.zrange(grant_keys.family_members(family), 0, -1)
    assert len(members) >= 4 and max(len(m) for m in members) <= 64
    compact = (b"listpack", b"ziplist")  # Redis 7's name, and Redis 6's (the embedded server)
    assert await system.redis.object("encoding", grant_keys.family_members(family)) in compact


async def test_scripts_unknown_to_the_server_are_loaded_again(system: System) -> None:
    """After a Redis restart the server knows no script (NOSCRIPT): calls still run, exactly once each,
    also when a whole batch of concurrent calls meets the empty script cache."""
    store = make_store(system)
    pairs = [await first_pair(store) for _ in range(5)]
    await system.redis.script_flush()
    now = int(time.time())
    outcomes = await asyncio.gather(*(store.rotate(rotation(f, rt), now=now) for f, _, rt in pairs))
    assert all(isinstance(o, Rotated) for o in outcomes), outcomes
    again = await asyncio.gather(*(store.rotate(rotation(f, rt), now=now) for f, _, rt in pairs))
    assert all(isinstance(o, Replayed) for o in again), again  # each rotated once, within the window
    await system.redis.script_flush()  # a first pair is counted, then issued: several steps in one call
    family, user = new_family_id(), f"usr_{new_family_id()}"
    first, _ = counted_pair(family, user)
    assert await store.issue_first_counted(first, now=now) is True
    assert await store.get_access(family, first.access_sig) is not None
    assert await store.families_of(user, CLIENT) == [family]


async def test_expired_members_are_pruned_on_rotation(system: System) -> None:
    store = make_store(system)
    family, _, presented = await first_pair(store)
    await system.redis.zadd(grant_keys.family_members(family), {"mavio:{f:" + family + "}:at:gone": 1})
    await store.rotate(rotation(family, presented), now=int(time.time()))
    members = await system.redis.zrange(grant_keys.family_members(family), 0, -1)
    assert all(not m.endswith(b":gone") for m in members) and len(members) == 5


async def test_index_counting_is_idempotent(system: System) -> None:
    store = make_store(system)
    client, now = "mavio_client_IndexTest000001", int(time.time())
    f1, f2 = new_family_id(), new_family_id()
    await store.add_family(client, "usr_a", f1, expires_at=now + 100, now=now)
    await store.add_family(client, "usr_a", f1, expires_at=now + 100, now=now)
    await store.add_family(client, "usr_a", f2, expires_at=now + 100, now=now)
    assert await system.redis.hget(grant_keys.app_grant_users(client), "usr_a") == b"2"
    assert (
        await system.redis.zscore(grant_keys.expiry_queue(), grant_keys.expiry_member(client, f1, "usr_a"))
        == now + 100
    )
    await store.slide_family(client, "usr_a", f1, expires_at=now + 500, now=now)
    assert await system.redis.zscore(grant_keys.app_families(client), f1) == now + 500
    await store.remove_family(client, "usr_a", f1)
    await store.remove_family(client, "usr_a", f1)
    assert await system.redis.hget(grant_keys.app_grant_users(client), "usr_a") == b"1"
    await store.slide_family(client, "usr_a", f1, expires_at=now + 900, now=now)  # never re-adds
    assert await system.redis.zscore(grant_keys.app_families(client), f1) is None
    await store.remove_family(client, "usr_a", f2)
    assert await system.redis.hlen(grant_keys.app_grant_users(client)) == 0
    assert await system.redis.zcard(grant_keys.user_families("usr_a")) == 0
    assert (
        await system.redis.zscore(grant_keys.expiry_queue(), grant_keys.expiry_member(client, f2, "usr_a"))
        is None
    )


async def test_using_a_family_stamps_the_grant_last_used(system: System) -> None:
    store = make_store(system)
    client, now = "mavio_client_GrantStamp000001", int(time.time())
    await system.redis.hset(
        grant_keys.user_grants("usr_g"),
        client,
        b'{"client_id":"%s","scope":"a","authorized_at":1}' % client.encode(),
    )
    await store.add_family(client, "usr_g", new_family_id(), expires_at=now + 100, now=now)
    grant = msgspec.json.decode(await system.redis.hget(grant_keys.user_grants("usr_g"), client))
    assert grant == {"client_id": client, "scope": "a", "authorized_at": 1, "last_used_at": now}


async def test_call_counters_add_to_total_and_day_with_ttl(system: System) -> None:
    store = GrantStats(system.redis)
    client = "mavio_client_CallsTest0000001"
    await system.redis.set(app_keys.app(client), b"{}")  # calls count only for an app that exists
    await store.add_calls({client: 3}, day="20990101")
    await store.add_calls({client: 2}, day="20990101")
    assert await system.redis.get(grant_keys.app_calls_total(client)) == b"5"
    assert await system.redis.get(grant_keys.app_calls_day(client, "20990101")) == b"5"
    assert (
        0 < await system.redis.ttl(grant_keys.app_calls_day(client, "20990101")) <= grant_keys.CALLS_DAY_TTL
    )


async def test_call_counters_write_nothing_for_an_app_that_does_not_exist_and_keep_a_ttl(
    system: System,
) -> None:
    store = GrantStats(system.redis)
    known, unknown = "mavio_client_CallsKnown000001", "mavio_client_CallsUnknown0001"
    await system.redis.set(app_keys.app(known), b"{}")
    await store.add_calls({unknown: 4, known: 1}, day="20990102")
    assert await system.redis.get(grant_keys.app_calls_total(known)) == b"1"
    for key in (grant_keys.app_calls_total(unknown), grant_keys.app_calls_day(unknown, "20990102")):
        assert not await system.redis.exists(key)
    total_ttl = await system.redis.ttl(grant_keys.app_calls_total(known))
    assert grant_keys.CALLS_DAY_TTL < total_ttl <= grant_keys.CALLS_TOTAL_TTL


def pending_code(family: str, *, user_id: str, scope: str, now: int) -> CodeRecord:
    """A code of ``CLIENT``'s for ``user_id``, valid for a minute from ``now``."""
    return CodeRecord(
        family=family,
        client_id=CLIENT,
        user_id=user_id,
        redirect_uri="https://app.example/cb",
        scope=scope,
        issued_at=now,
        expires_at=now + 60,
    )


async def test_a_saved_code_is_pending_with_its_scope_for_its_lifetime(system: System) -> None:
    store = make_store(system)
    family, now = new_family_id(), int(time.time())
    record = pending_code(family, user_id="usr_scope", scope="meetings:read meetings:write", now=now)
    await store.save_code(SIGNER.sign(mint("code", family)), record, 60)
    assert grant_keys.pending_code_member("usr_scope", family) in await store.pending(CLIENT)
    assert await store.code_scope(family) == "meetings:read meetings:write"
    assert 0 < await system.redis.ttl(grant_keys.code_scope(family)) <= 60
    assert await store.code_scope(new_family_id()) is None


async def test_taking_a_code_ends_its_pending_scope_in_the_same_step_and_a_forged_one_does_not(
    system: System,
) -> None:
    store = make_store(system)
    family, now = new_family_id(), int(time.time())
    record = pending_code(family, user_id="usr_scope_end", scope="meetings:read", now=now)
    code = mint("code", family)
    await store.save_code(SIGNER.sign(code), record, 60)
    forged = mint("code", family)  # the family's id, not its code: refused, and the scope stays
    assert isinstance(await store.consume(family, SIGNER.sign(forged), client_id=CLIENT, now=now), Refused)
    assert await store.code_scope(family) == "meetings:read"
    assert isinstance(await store.consume(family, SIGNER.sign(code), client_id=CLIENT, now=now), CodeTaken)
    assert await store.code_scope(family) is None
    assert not await system.redis.exists(grant_keys.code_scope(family))


async def test_a_code_presented_by_another_client_is_neither_taken_nor_revoked(system: System) -> None:
    """Issue 22: the presenting client is checked before the code is consumed, and before its reuse
    revokes anything: another app's credentials with a leaked code, used or not, change nothing."""
    store, other = make_store(system), "mavio_client_SomeoneElse00000"
    family, now = new_family_id(), int(time.time())
    code = mint("code", family)
    record = pending_code(family, user_id="usr_leak", scope="a", now=now)
    await store.save_code(SIGNER.sign(code), record, 60)
    sig = SIGNER.sign(code)
    assert await store.consume(family, sig, client_id=other, now=now) == Refused("wrong_client")
    assert await store.code_scope(family) == "a"  # still pending: nothing was taken
    assert isinstance(await store.consume(family, sig, client_id=CLIENT, now=now), CodeTaken)
    first, _ = counted_pair(family, "usr_leak")
    assert await store.issue_first_counted(first, now=now) is True
    # used: another client presenting it again revokes nothing (no tombstone, the tokens live)
    assert await store.consume(family, sig, client_id=other, now=now) == Refused("wrong_client")
    assert not await system.redis.exists(grant_keys.family_revoked(family))
    assert await store.get_access(family, first.access_sig) is not None
    assert await store.families_of("usr_leak", CLIENT) == [family]
    # the client it was issued to presenting it again is reuse, as before
    reused = await store.consume(family, sig, client_id=CLIENT, now=now)
    assert isinstance(reused, Reused) and reused.revoked.client_id == CLIENT and reused.revoked.tokens == 2
    assert await store.get_access(family, first.access_sig) is None


async def test_a_used_code_whose_pair_is_not_issued_yet_still_refuses_another_client(system: System) -> None:
    """Between a code's consumption and its first pair (the two-step exchange), the family already
    names whose code it was."""
    store, other = make_store(system), "mavio_client_SomeoneElse00000"
    family, now = new_family_id(), int(time.time())
    code = mint("code", family)
    await store.save_code(SIGNER.sign(code), pending_code(family, user_id="usr_mid", scope="a", now=now), 60)
    assert isinstance(await store.consume(family, SIGNER.sign(code), client_id=CLIENT, now=now), CodeTaken)
    assert await store.consume(family, SIGNER.sign(code), client_id=other, now=now) == Refused("wrong_client")
    assert not await system.redis.exists(grant_keys.family_revoked(family))


async def test_many_access_tokens_are_read_in_order_across_families_and_slots(system: System) -> None:
    """``get_access_many`` (``token.verify_many``): one read for tokens of many families (each in its own
    hash slot on a Cluster), every value in the order asked, None for an unknown or revoked one; the
    concurrent single reads of the same iteration share it and still get their own values."""
    store = make_store(system)
    pairs = [await first_pair(store) for _ in range(5)]
    wanted = [(family, SIGNER.sign(access)) for family, access, _ in pairs]
    unknown = new_family_id()
    wanted.insert(2, (unknown, SIGNER.sign(mint("at", unknown))))
    revoked_family, revoked_access, _ = pairs[3]
    assert await store.revoke_access(revoked_family, SIGNER.sign(revoked_access))
    single_family, single_access, _ = pairs[0]
    many, single = await asyncio.gather(
        store.get_access_many(wanted), store.get_access(single_family, SIGNER.sign(single_access))
    )
    records = [None if raw is None else msgspec.json.decode(raw) for raw in many]
    assert [r and r["family"] for r in records] == [
        pairs[0][0],
        pairs[1][0],
        None,
        pairs[2][0],
        None,
        pairs[4][0],
    ]
    assert single is not None and msgspec.json.decode(single)["family"] == single_family
    assert await store.get_access_many([]) == []
