"""A sequence (``shared.grants.scripts.SEQUENCES``) is its steps run as one script: on a single Redis,
``first_pair_counted`` leaves exactly what the count's three steps and the issue leave when sent as
separate commands (the Redis Cluster path, which the contract suite also runs). Likewise the sweeper's
per-item scripts (``scripts.PER_ITEM``) answer and leave what one command per family does."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

from shared.grants import keys as grant_keys
from shared.grants.first_issue import _ISSUE_FIRST
from shared.grants.indexes import add_family_steps
from shared.grants.scripts import SEQUENCES, source
from shared.grants.storage import FirstPair
from shared.grants.sweep import DueFamily, RedisSweepStore
from shared.script_runner import CHUNK, Step
from shared.tokens import new_family_id
from tests.integration.grants.test_store_contract import CLIENT, counted_pair, make_store
from tests.support.system import System


def test_a_sequence_names_its_steps_keys_and_arguments_in_order() -> None:
    lua = source("first_pair_counted")
    assert [s for s, _, _ in SEQUENCES["first_pair_counted"]] == [
        "app_add_family",
        "user_touch_family",
        "work_list_add",
        "issue_first_pair",
    ]
    assert "step0(slice(KEYS, 1, 2), slice(ARGV, 1, 3))" in lua
    assert "return step3(slice(KEYS, 6, 10), slice(ARGV, 11, 19))" in lua


async def _state(system: System, first: FirstPair) -> dict[str, Any]:
    """Everything one family's first issue writes, with its own ids replaced by placeholders."""
    r, fam, user = system.redis, first.family, first.user_id
    member = grant_keys.expiry_member(CLIENT, fam, user)
    grant = await r.hget(grant_keys.user_grants(user), CLIENT)
    family_hash = {k.decode(): v.decode() for k, v in (await r.hgetall(grant_keys.family(fam))).items()}
    family_hash["user_id"] = "USER" if family_hash.get("user_id") == user else family_hash.get("user_id", "")
    return {
        "app_family": await r.zscore(grant_keys.app_families(CLIENT), fam),
        "app_user_count": await r.hget(grant_keys.app_grant_users(CLIENT), user),
        "user_families": await r.zrange(grant_keys.user_families(user), 0, -1, withscores=True),
        "user_grant_used": None if grant is None else json.loads(grant)["last_used_at"],
        "work_list": await r.zscore(grant_keys.expiry_queue(), member),
        "family": family_hash,
        "members": len(await r.zrange(grant_keys.family_members(fam), 0, -1)),
        "access": await r.get(grant_keys.access_token(fam, first.access_sig)),
        "refresh": await r.get(grant_keys.refresh_token(fam, first.refresh_sig)),
        "access_ttl": await r.ttl(grant_keys.access_token(fam, first.access_sig)) > 0,
    }


async def test_first_pair_counted_writes_what_its_separate_steps_write(system: System) -> None:
    assert not system.settings.redis_cluster  # the session's system: a single Redis, where sequences run
    store = make_store(system)
    now = int(time.time())
    pairs = []
    for _ in range(2):
        user = f"usr_{new_family_id()}"
        await system.redis.hset(grant_keys.user_grants(user), CLIENT, json.dumps({"last_used_at": 0}))
        pairs.append(counted_pair(new_family_id(), user)[0])
    separate, sequenced = pairs
    steps = add_family_steps(CLIENT, separate.user_id, separate.family, expires_at=now + 600, now=now)
    steps.append(
        Step(_ISSUE_FIRST, store._issue_first_keys(separate), store._issue_first_args(separate, now))
    )
    assert store._scripts.batched
    replies = await store._scripts.steps(steps)
    assert replies[-1] == 1 and not any(isinstance(r, Exception) for r in replies)
    assert await store.issue_first_counted(sequenced, now=now) is True
    one, other = await _state(system, separate), await _state(system, sequenced)
    one["user_families"] = [(b"FAM", s) for _, s in one["user_families"]]
    other["user_families"] = [(b"FAM", s) for _, s in other["user_families"]]
    assert one == other
    assert one["user_grant_used"] == now and one["work_list"] == now + 600 and one["app_user_count"] == b"1"


async def _sweep_seed(system: System, store: Any, users: int) -> tuple[str, list[DueFamily]]:
    """An app with one family per user, each counted and issued (a refresh token among its members)."""
    now, cid = int(time.time()), f"mavio_client_{new_family_id()[:16]}"
    entries = []
    for i in range(users):
        user, family = f"usr_{new_family_id()}", new_family_id()
        first = replace(counted_pair(family, user)[0], client_id=cid)
        assert await store.issue_first_counted(first, now=now) is True
        authorized = now - 3600 if i % 4 in (0, 1) else now  # half the grants older than the cut-off below
        grant = {"client_id": cid, "scope": "a", "authorized_at": authorized, "last_used_at": 0}
        await system.redis.hset(grant_keys.user_grants(user), cid, json.dumps(grant))
        entries.append(DueFamily(grant_keys.expiry_member(cid, family, user), cid, family, user))
    return cid, entries


async def _after_sweep_steps(
    system: System, sweep: RedisSweepStore, cid: str, entries: list[DueFamily]
) -> Any:
    """Every sweeper step on ``entries`` (half of them uncounted), and what each answered and left."""
    families = [e.family for e in entries]
    left = await sweep.refresh_left_ms([*families, new_family_id()])  # and one family with no members
    pairs = [(cid, e.user_id) for e in entries]
    await sweep.uncount(entries[::2])
    counted = await sweep.counted(pairs)
    idle = [pair for pair, still in zip(pairs, counted, strict=True) if not still]  # as the sweeper does
    await sweep.drop_idle_grants(idle, cutoff=int(time.time()) - 60)
    grants = [await system.redis.hexists(grant_keys.user_grants(e.user_id), cid) for e in entries]
    return {
        "live": [ms > 0 for ms in left],
        "left_ms_close_to_ttl": all(600_000 - 5_000 < ms <= 600_000 for ms in left[:-1]),
        "counted": counted,
        "grants_kept": grants,
        "app_families": await system.redis.zcard(grant_keys.app_families(cid)),
        "app_users": await system.redis.hlen(grant_keys.app_grant_users(cid)),
        "work_list": [
            await system.redis.zscore(grant_keys.expiry_queue(), e.member) is not None for e in entries
        ],
        "user_families": [await system.redis.zcard(grant_keys.user_families(e.user_id)) for e in entries],
    }


async def test_the_sweepers_per_item_scripts_answer_and_leave_what_their_steps_do(system: System) -> None:
    """On a single Redis each sweeper step is one script call per chunk of families
    (``scripts.PER_ITEM``); the same steps sent one command per family (the Redis Cluster path, run here
    on the same single Redis) answer the same and leave the same, across a chunk boundary."""
    assert not system.settings.redis_cluster
    store = make_store(system)
    results = []
    for cluster in (False, True):
        cid, entries = await _sweep_seed(system, store, CHUNK + 30)
        results.append(
            await _after_sweep_steps(system, RedisSweepStore(system.redis, cluster=cluster), cid, entries)
        )
    per_chunk, per_family = results
    assert per_chunk == per_family
    assert per_chunk["live"] == [True] * (CHUNK + 30) + [False] and per_chunk["left_ms_close_to_ttl"]
    assert per_chunk["counted"] == [i % 2 == 1 for i in range(CHUNK + 30)]
    # an uncounted user's grant older than the cut-off goes; a newer one, or a counted user's, stays
    assert per_chunk["grants_kept"] == [i % 4 != 0 for i in range(CHUNK + 30)]
    assert per_chunk["app_users"] == per_chunk["app_families"] == (CHUNK + 30) // 2
    assert per_chunk["work_list"] == per_chunk["counted"] and per_chunk["user_families"] == [
        int(c) for c in per_chunk["counted"]
    ]
