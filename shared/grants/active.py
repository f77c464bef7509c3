"""Active authorizations: the one definition used by the app page's count, by Connected apps and by
remembered consent.

A user is an active authorization of an app while the user's grant to it (``GrantRecord``) exists and
is live: consent was given and the grant is neither revoked nor expired, whether or not its code has
been exchanged yet. Live means either

- the user counts in the app's users index (``keys.app_grant_users``): a family of the app is alive
  (the code was exchanged; its tokens are neither revoked nor expired), or
- the code of the latest authorization (``GrantRecord.code_family``) may still be exchanged: its
  ``keys.code_scope`` is there (deleted on exchange, expires with the code) and its family has no
  tombstone (``keys.family_revoked``: revoked by Connected apps, Revoke all tokens or a plan change).

A grant written before ``code_family`` existed falls back to "authorized less than a code lifetime
ago". Revoking the refresh token (RFC 7009) therefore ends the authorization at once: the family is
uncounted and the exchanged code is no longer pending.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import msgspec

from shared.grants import keys
from shared.grants.base import text
from shared.grants.records import GrantRecord
from shared.store import Redis

_decode_grant = msgspec.json.Decoder(GrantRecord).decode


def is_active(grant: GrantRecord, *, counted: bool, code_pending: bool, now: float, code_ttl: int) -> bool:
    """The rule, given what Redis says: ``counted`` in the app's users index, the latest code
    ``code_pending`` (not exchanged, not expired, its family not revoked)."""
    if counted:
        return True
    if grant.code_family:
        return code_pending
    return grant.authorized_at > now - code_ttl  # written before code_family: the old window


class ActiveAuthorizations:
    """Reads what ``is_active`` needs; ``code_ttl`` only matters for grants without ``code_family``."""

    def __init__(self, redis: Redis, *, code_ttl: int) -> None:
        self._redis = redis
        self._code_ttl = code_ttl

    async def live(self, pairs: Sequence[tuple[str, GrantRecord]], *, now: float) -> list[bool]:
        """For each (user id, grant): is it an active authorization? One pipeline for all of them."""
        if not pairs:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id, grant in pairs:
                pipe.hexists(keys.app_grant_users(grant.client_id), user_id)
                family = grant.code_family or "-"
                pipe.exists(keys.code_scope(family))
                pipe.exists(keys.family_revoked(family))
            raw = await pipe.execute()
        out = []
        for i, (_, grant) in enumerate(pairs):
            counted, scoped, revoked = raw[3 * i : 3 * i + 3]
            pending = bool(scoped) and not revoked
            ttl = self._code_ttl
            out.append(is_active(grant, counted=bool(counted), code_pending=pending, now=now, code_ttl=ttl))
        return out

    async def count(self, client_id: str, *, now: float) -> int:
        """How many users are active authorizations of the app: every user in its users index (whose
        grant goes with it: revocations drop both), plus the users whose only live thing is a code not
        exchanged yet (found through the app's pending-codes index)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hlen(keys.app_grant_users(client_id))
            pipe.zrangebyscore(keys.app_pending_codes(client_id), int(now), "+inf")
            counted, pending = await pipe.execute()
        users = list(dict.fromkeys(text(m).partition(" ")[0] for m in pending))
        if not users:
            return int(counted or 0)
        indexed = await self._redis.hmget(keys.app_grant_users(client_id), users)
        waiting = [u for u, n in zip(users, indexed, strict=True) if u and n is None]
        grants = await asyncio.gather(*(self._grant(u, client_id) for u in waiting))
        pairs = [(u, g) for u, g in zip(waiting, grants, strict=True) if g is not None]
        return int(counted or 0) + sum(await self.live(pairs, now=now))

    async def _grant(self, user_id: str, client_id: str) -> GrantRecord | None:
        raw = await self._redis.hget(keys.user_grants(user_id), client_id)
        if raw is None:
            return None
        try:
            return _decode_grant(raw)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None
