"""A family's first pair, counted first and issued second (``FamilyStore.issue_first_counted``).

Counting before issuing means a revocation that races the exchange always uncounts after the count
(idempotently), so no revoked family stays counted. On a single Redis both are one script, the
``first_pair_counted`` sequence (the count's three steps, then the issue, in order): one command in
the iteration's batch. A Redis Cluster pipeline sends each node its part concurrently, so there the
count is awaited before the issue: two round trips.
"""

from __future__ import annotations

from typing import Any

from shared.grants.indexes import ADD_FAMILY_SCRIPTS, RedisIndexes, add_family_layout, queue_add_family
from shared.grants.pipelines import PipelineScript, run_steps
from shared.grants.scripts import source
from shared.grants.storage import FirstPair
from shared.grants.tokens import RedisTokens

_ISSUE_FIRST = PipelineScript(source("issue_first_pair"))


class RedisFirstIssue(RedisTokens, RedisIndexes):
    async def issue_first_counted(self, pair: FirstPair, *, now: int) -> bool:
        count = (pair.client_id, pair.user_id, pair.family)
        expires_at = now + self._refresh_ttl
        if self._cluster:
            await self.add_family(*count, expires_at=expires_at, now=now)
            issued = await self.issue_first(pair, now=now)
        else:  # one script: the count's three steps, then the issue, in order
            count_keys, count_args = add_family_layout(*count, expires_at=expires_at, now=now)
            issue_keys, issue_args = self._issue_first_keys(pair), self._issue_first_args(pair, now)
            reply = await self._run("first_pair_counted", count_keys + issue_keys, count_args + issue_args)
            issued = bool(reply)
        if not issued:
            await self.remove_family(*count)
        return issued

    async def import_first_pairs(self, pairs: list[FirstPair], *, now: int) -> None:
        """Many new families at once (a bulk import, the benchmarks' seeding): each counted and issued
        as ``issue_first_counted`` does, in chunked pipelines; nothing may revoke them meanwhile."""
        expires_at = now + self._refresh_ttl

        def step(pipe: Any, pair: FirstPair) -> None:
            queue_add_family(pipe, pair.client_id, pair.user_id, pair.family, expires_at=expires_at, now=now)
            _ISSUE_FIRST.queue(pipe, self._issue_first_keys(pair), self._issue_first_args(pair, now))

        await run_steps(self._redis, pairs, step, scripts=(*ADD_FAMILY_SCRIPTS, _ISSUE_FIRST))
