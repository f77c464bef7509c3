"""The sweeper's batched uncount is the token store's ``remove_family`` in batch form: run on the same
families, both leave the app's, the user's and the sweeper's indexes in the same state, each uncounts a
family at most once, and either may follow the other."""

from __future__ import annotations

import time
import uuid
from typing import Any

from shared.grants import keys as grant_keys
from shared.grants.store import RedisGrantStore, grant_store
from shared.grants.sweep import DueFamily, RedisSweepStore
from tests.support.system import System


def token_store(system: System) -> RedisGrantStore:
    return grant_store(system.redis, system.settings)


async def index_state(system: System, cid: str, users: list[str], families: list[str]) -> tuple[Any, ...]:
    members = [grant_keys.expiry_member(cid, f, u) for f, u in zip(families, users, strict=True)]
    return (
        await system.redis.zrange(grant_keys.app_families(cid), 0, -1),
        await system.redis.hgetall(grant_keys.app_grant_users(cid)),
        [await system.redis.zrange(grant_keys.user_families(u), 0, -1) for u in users],
        [await system.redis.zscore(grant_keys.expiry_queue(), m) for m in members],
    )


async def seed(system: System, now: int | None = None) -> tuple[str, list[str], list[str]]:
    """Three families: two of one user, one of another, counted by the token store itself (at ``now``:
    two seeds compared with each other share one, so a second ticking between them changes nothing)."""
    tokens, now = token_store(system), now or int(time.time())
    cid = f"mavio_client_{uuid.uuid4().hex[:16]}"
    u1, u2 = f"usr_{uuid.uuid4().hex[:16]}", f"usr_{uuid.uuid4().hex[:16]}"
    users, families = [u1, u1, u2], [uuid.uuid4().hex[:16] for _ in range(3)]
    for user, family in zip(users, families, strict=True):
        await tokens.add_family(cid, user, family, expires_at=now + 60, now=now)
    return cid, users, families


async def test_batched_uncount_matches_remove_family(system: System) -> None:
    tokens, sweep = token_store(system), RedisSweepStore(system.redis, cluster=system.settings.redis_cluster)
    now = int(time.time())
    a_cid, a_users, a_fams = await seed(system, now)
    b_cid, b_users, b_fams = await seed(system, now)
    assert await system.redis.hget(grant_keys.app_grant_users(a_cid), a_users[0]) == b"2"
    for user, family in zip(a_users[:2], a_fams[:2], strict=True):
        await tokens.remove_family(a_cid, user, family)
    await sweep.uncount([DueFamily("", b_cid, f, u) for u, f in zip(b_users[:2], b_fams[:2], strict=True)])
    a = await index_state(system, a_cid, a_users, a_fams)
    b = await index_state(system, b_cid, b_users, b_fams)
    rename = {f.encode(): g.encode() for f, g in zip(a_fams, b_fams, strict=True)}
    rename |= {u.encode(): v.encode() for u, v in zip(a_users, b_users, strict=True)}
    assert [rename.get(x, x) for x in a[0]] == b[0]
    assert {rename[k]: v for k, v in a[1].items()} == b[1]
    assert a[3] == b[3] and a[3][:2] == [None, None] and a[3][2] is not None
    assert b[1] == {b_users[2].encode(): b"1"}


async def test_either_uncount_after_the_other_changes_nothing(system: System) -> None:
    tokens, sweep = token_store(system), RedisSweepStore(system.redis, cluster=system.settings.redis_cluster)
    cid, users, fams = await seed(system)
    entries = [DueFamily("", cid, f, u) for u, f in zip(users, fams, strict=True)]
    await sweep.uncount(entries[:1])
    await tokens.remove_family(cid, users[0], fams[0])
    await sweep.uncount(entries[:1])
    assert await system.redis.hget(grant_keys.app_grant_users(cid), users[0]) == b"1"
    await tokens.remove_family(cid, users[1], fams[1])
    await sweep.uncount(entries)
    await tokens.remove_family(cid, users[2], fams[2])
    assert await system.redis.hlen(grant_keys.app_grant_users(cid)) == 0
    assert await system.redis.zcard(grant_keys.app_families(cid)) == 0
