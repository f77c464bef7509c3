"""The device authorization store (RFC 8628) on a real redis-server and a real Redis Cluster: codes kept
only as HMACs with their TTL, one script per poll in the family's slot (pending, slow_down raising the
interval, denied once, expired, the approval taken once, then done), a decision taken once, and the
tombstone of a revoked family ending it. Times are injected (``now``/``now_ms``), never slept."""

from __future__ import annotations

import asyncio
import time

import pytest

from shared.grants import keys
from shared.grants.records import CodeRecord, DeviceRecord
from shared.grants.storage import CodeTaken, DeviceEnded, DevicePending, FoundDevice
from shared.grants.store import RedisGrantStore
from shared.tokens import Signer, mint, new_family_id
from tests.integration.grants.test_store_contract import make_store
from tests.support.system import System

SIGNER = Signer(b"d" * 32)
CLIENT = "mavio_client_DeviceTest00001"
TTL = 900


async def started(store: RedisGrantStore, *, now: int) -> tuple[str, str, str, DeviceRecord]:
    """A pending device authorization: (family, device code signature, user code signature, record)."""
    family = new_family_id()
    device_sig = SIGNER.sign(mint("dc", family))
    user_sig = SIGNER.sign(f"USER{family[:4]}")
    record = DeviceRecord(
        family=family, client_id=CLIENT, scope="meetings:read", requested_at=now, expires_at=now + TTL
    )
    assert await store.start_device(device_sig, user_sig, record, interval=5)
    return family, device_sig, user_sig, record


def approval(record: DeviceRecord, *, now: int, user: str = "usr_d") -> CodeRecord:
    return CodeRecord(
        family=record.family,
        client_id=record.client_id,
        user_id=user,
        redirect_uri="",
        scope=record.scope,
        issued_at=now,
        expires_at=record.expires_at,
        redirect_uri_given=False,
    )


async def poll(store: RedisGrantStore, family: str, sig: str, now_ms: int, client: str = CLIENT) -> object:
    return await store.poll_device(family, sig, client_id=client, now_ms=now_ms, step=5)


async def test_codes_are_stored_only_as_hmacs_with_the_ttl(system: System) -> None:
    store, now = make_store(system), int(time.time())
    family, device_sig, user_sig, _ = await started(store, now=now)
    undecided = keys.pending_code_member(keys.UNDECIDED, family)  # revoke-all and deletion find it here
    assert await system.redis.zscore(keys.app_pending_codes(CLIENT), undecided) == now + TTL
    assert 0 < await system.redis.ttl(keys.user_code(user_sig)) <= TTL
    assert TTL < await system.redis.ttl(keys.device(family, device_sig)) <= 2 * TTL
    assert (await system.redis.get(keys.user_code(user_sig))).decode() == f"{family} {device_sig}"
    found = await store.find_device(user_sig, now=now)
    assert found is not None and found.record.scope == "meetings:read" and found.device_sig == device_sig
    assert await store.find_device(SIGNER.sign("other"), now=now) is None


async def test_a_clashing_user_code_is_refused(system: System) -> None:
    store, now = make_store(system), int(time.time())
    _, _, user_sig, record = await started(store, now=now)
    other = DeviceRecord(
        family=new_family_id(), client_id=CLIENT, scope="x", requested_at=now, expires_at=now + TTL
    )
    assert not await store.start_device(SIGNER.sign("dc2"), user_sig, other, interval=5)
    assert (await store.find_device(user_sig, now=now)).record == record  # type: ignore[union-attr]


async def test_polls_in_order_pending_slow_down_then_the_approval_once(system: System) -> None:
    store, now = make_store(system), int(time.time())
    family, sig, user_sig, record = await started(store, now=now)
    ms = now * 1000
    assert await poll(store, family, sig, ms) == DevicePending()
    assert await poll(store, family, sig, ms + 1000) == DevicePending(slow_down=10)
    assert await poll(store, family, sig, ms + 2000) == DevicePending(slow_down=15)
    assert await poll(store, family, sig, ms + 17_000) == DevicePending()  # waited the interval (15 s)
    assert await poll(store, family, sig, ms + 17_000, client="mavio_client_Other0000000001") == DeviceEnded(
        "unknown"
    )  # another client's poll changes nothing
    found = await store.find_device(user_sig, now=now)
    assert found is not None
    assert await store.decide_device(found, user_sig, approval(record, now=now), now=now) == "ok"
    taken = await poll(store, family, sig, ms + 18_000)
    assert isinstance(taken, CodeTaken) and b'"user_id":"usr_d"' in taken.record
    assert await poll(store, family, sig, ms + 40_000) == DeviceEnded("done")
    assert await system.redis.get(keys.user_code(user_sig)) is None  # decided: the user code is void
    assert await store.find_device(user_sig, now=now) is None


async def test_a_poll_up_to_a_second_early_is_no_slow_down(system: System) -> None:
    store, now = make_store(system), int(time.time())
    family, sig, _, _ = await started(store, now=now)
    ms = now * 1000
    assert await poll(store, family, sig, ms) == DevicePending()
    assert await poll(store, family, sig, ms + 4_000) == DevicePending()  # 1 s early: jitter
    assert await poll(store, family, sig, ms + 7_900) == DevicePending(slow_down=10)  # 1.1 s early


async def test_denied_once_then_done(system: System) -> None:
    store, now = make_store(system), int(time.time())
    family, sig, user_sig, _ = await started(store, now=now)
    found = await store.find_device(user_sig, now=now)
    assert found is not None
    assert await store.decide_device(found, user_sig, None, now=now) == "ok"
    assert await poll(store, family, sig, now * 1000) == DeviceEnded("denied")
    assert await poll(store, family, sig, now * 1000 + 6000) == DeviceEnded("done")
    assert not await system.redis.exists(keys.code(family, sig))


async def test_a_decision_is_taken_once_even_when_concurrent(system: System) -> None:
    store, now = make_store(system), int(time.time())
    _, _, user_sig, record = await started(store, now=now)
    found = await store.find_device(user_sig, now=now)
    assert found is not None
    outcomes = await asyncio.gather(
        *(store.decide_device(found, user_sig, approval(record, now=now), now=now) for _ in range(5)),
        store.decide_device(found, user_sig, None, now=now),
    )
    assert sorted(outcomes).count("ok") == 1 and outcomes.count("decided") == 5


async def test_expiry_by_an_injected_clock(system: System) -> None:
    store, now = make_store(system), int(time.time())
    family, sig, user_sig, record = await started(store, now=now)
    late = now + TTL
    assert await store.find_device(user_sig, now=late) is None  # no longer shown to users
    found = FoundDevice(record, sig)
    assert await store.decide_device(found, user_sig, approval(record, now=late), now=late) == "expired"
    assert await poll(store, family, sig, late * 1000) == DeviceEnded("expired")
    assert await poll(store, family, sig, late * 1000 + 60_000) == DeviceEnded("expired")


async def test_a_revoked_family_ends_an_approved_device_authorization(system: System) -> None:
    store, now = make_store(system), int(time.time())
    family, sig, user_sig, record = await started(store, now=now)
    found = await store.find_device(user_sig, now=now)
    assert found is not None
    assert await store.decide_device(found, user_sig, approval(record, now=now), now=now) == "ok"
    pending = await store.pending(CLIENT)
    assert keys.pending_code_member("usr_d", family) in pending  # revocations find it here
    assert await store.code_scope(family) == "meetings:read"  # and plan changes its scope
    await store.revoke(family, now=now)
    assert await poll(store, family, sig, now * 1000) == DeviceEnded("revoked")
    assert await poll(store, family, sig, now * 1000 + 6000) == DeviceEnded("done")


@pytest.mark.parametrize("decision", ["approve", "deny"])
async def test_a_revoked_family_cannot_be_decided(system: System, decision: str) -> None:
    store, now = make_store(system), int(time.time())
    family, _, user_sig, record = await started(store, now=now)
    found = await store.find_device(user_sig, now=now)
    assert found is not None
    await store.revoke(family, now=now)
    assert await store.find_device(user_sig, now=now) is None  # no longer shown to users
    given = approval(record, now=now) if decision == "approve" else None
    assert await store.decide_device(found, user_sig, given, now=now) == "decided"
