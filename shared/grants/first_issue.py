"""A family's first pair, counted first and issued second (``FamilyStore.issue_first_counted``).

Counting before issuing means a revocation that races the exchange always uncounts after the count
(idempotently), so no revoked family stays counted. On a single Redis both are one script, the
``first_pair_counted`` sequence (the count's three steps, then the issue, in order): one command in
the iteration's batch. A Redis Cluster pipeline sends each node its part concurrently, so there the
count is awaited before the issue: two round trips.
"""

from __future__ import annotations

from shared.grants.indexes import RedisIndexes, add_family_layout, add_family_steps
from shared.grants.scripts import script
from shared.grants.storage import FirstPair
from shared.grants.tokens import RedisTokens
from shared.script_runner import Step

_FIRST_PAIR_COUNTED = script("first_pair_counted")
_ISSUE_FIRST = script("issue_first_pair")


class RedisFirstIssue(RedisTokens, RedisIndexes):
    async def issue_first_counted(self, pair: FirstPair, *, now: int) -> bool:
        count = _count(pair)
        expires_at = now + self._refresh_ttl
        if self._cluster:
            await self.add_family(*count, expires_at=expires_at, now=now)
            issued = await self.issue_first(pair, now=now)
        else:  # one script: the count's three steps, then the issue, in order
            count_keys, count_args = add_family_layout(*count, expires_at=expires_at, now=now)
            issue_keys, issue_args = self._issue_first_keys(pair), self._issue_first_args(pair, now)
            reply = await self._run(_FIRST_PAIR_COUNTED, count_keys + issue_keys, count_args + issue_args)
            issued = bool(reply)
        if not issued:
            await self.remove_family(*count)
        return issued

    async def import_first_pairs(self, pairs: list[FirstPair], *, now: int) -> None:
        """Many new families at once (a bulk import, the benchmarks' seeding): each counted and issued
        as ``issue_first_counted`` does, in chunked pipelines; nothing may revoke them meanwhile."""
        expires_at = now + self._refresh_ttl

        def steps(pair: FirstPair) -> list[Step]:
            count = add_family_steps(*_count(pair), expires_at=expires_at, now=now)
            issue = Step(_ISSUE_FIRST, self._issue_first_keys(pair), self._issue_first_args(pair, now))
            return [*count, issue]

        await self._scripts.pipelined(pairs, steps)


def _count(pair: FirstPair) -> tuple[str, str, str]:
    """What a family is counted by: (client id, user id, family)."""
    return pair.client_id, pair.user_id, pair.family
