"""A sequence (``shared.grants.scripts.SEQUENCES``) is its steps run as one script: on a single Redis,
``first_pair_counted`` leaves exactly what the count's three steps and the issue leave when sent as
separate commands (the Redis Cluster path, which the contract suite also runs)."""

from __future__ import annotations

import json
import time
from typing import Any

from shared.grants import keys as grant_keys
from shared.grants.batching import Step
from shared.grants.first_issue import _ISSUE_FIRST
from shared.grants.indexes import add_family_steps
from shared.grants.scripts import SEQUENCES, source
from shared.grants.storage import FirstPair
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
    assert "return step3(slice(KEYS, 6, 10), slice(ARGV, 11, 18))" in lua


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
    assert store._batcher is not None
    replies = await store._batcher.steps(steps)
    assert replies[-1] == 1 and not any(isinstance(r, Exception) for r in replies)
    assert await store.issue_first_counted(sequenced, now=now) is True
    one, other = await _state(system, separate), await _state(system, sequenced)
    one["user_families"] = [(b"FAM", s) for _, s in one["user_families"]]
    other["user_families"] = [(b"FAM", s) for _, s in other["user_families"]]
    assert one == other
    assert one["user_grant_used"] == now and one["work_list"] == now + 600 and one["app_user_count"] == b"1"
