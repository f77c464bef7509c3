"""Revoking many families at once: every token of an app (Revoke all tokens, Delete app), or of one
user x app (Connected apps > Revoke), or the families a plan change leaves without a scope.

Order, per batch of families: tombstone each (the token store's atomic family revocation: codes, access
and refresh tokens gone at once), uncount it from the indexes, then publish ``TokensRevoked`` so every
verification cache evicts it. Codes not yet exchanged are found through ``grant_keys.app_pending_codes`` (the
authorize service indexes a code's family before storing the code): their families are tombstoned too,
so such a code fails at the token endpoint even when it was issued before the revocation.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import structlog
from prometheus_client import Counter

from services.revocation.batching import gather_bounded
from services.revocation.domain import chunks, parse_pending_member, unique
from services.revocation.publisher import Publish
from services.revocation.store import RevocationStore
from shared.grants import keys as grant_keys
from shared.grants.storage import Revoked
from shared.messages import events as ev

log = structlog.get_logger("mavio.revocation")

APP_DELETED = "app_deleted"
APP_REASONS = ("app_revoke_all", APP_DELETED)


class Cascades:
    def __init__(
        self,
        store: RevocationStore,
        publish: Publish,
        *,
        clock: Callable[[], float] = time.time,
        revoked: Counter | None = None,  # ``mavio_tokens_revoked_total``
    ):
        self._store = store
        self._publish = publish
        self._clock = clock
        self._revoked = revoked

    async def revoke_app(self, client_id: str, reason: str, *, actor: str = "") -> int:
        """Every code, access and refresh token of the app; its users' grants; for a deleted app, its
        indexes and counters too. Returns the number of families revoked."""
        snap = await self._store.app_snapshot(client_id)
        owners: dict[str, str] = dict.fromkeys(snap.families, "")
        for member in snap.pending:
            parsed = parse_pending_member(member)
            if parsed is not None:
                owners.setdefault(parsed[1], parsed[0])
        revoked = await self.revoke_families(client_id, owners, reason=reason, actor=actor)
        users = unique([*snap.users, *(r.user_id for r in revoked if r.user_id), *owners.values()])
        await self._store.drop_grants(client_id, [u for u in users if u])
        await self._store.forget_pending(client_id, snap.pending)
        if reason == APP_DELETED:
            await self._store.drop_app(client_id)
        if not owners:  # nothing was live, but the operator's action still belongs in the audit trail
            await self._publish(
                ev.TokensRevoked(
                    at=self._clock(), client_id=client_id, actor=actor, families=[], reason=reason
                )
            )
        log.info("app tokens revoked", client_id=client_id, reason=reason, families=len(owners))
        return len(owners)

    async def granted_apps(self, user_id: str) -> list[str]:
        """The apps the user has a grant to (live or not: revoking an expired one is harmless)."""
        return list(await self._store.grants(user_id))

    async def revoke_grant(
        self,
        user_id: str,
        client_id: str,
        *,
        reason: str = "user_revoked",
        actor: str = "",
        url: str = "",
        also: Sequence[str] = (),
    ) -> int:
        """Every family of one user x app (exchanged or pending, and ``also``) and the grant itself;
        ``actor`` defaults to the user (who revoked the connected app); ``url``: a leak's."""
        families = unique([*also, *await self._store.families_of(user_id, client_id)])
        pending = [parse_pending_member(m) for m in await self._store.pending(client_id)]
        families += [p[1] for p in pending if p is not None and p[0] == user_id]
        owners = dict.fromkeys(families, user_id)
        await self.revoke_families(
            client_id,
            owners,
            reason=reason,
            user_id=user_id,
            actor=actor or user_id,
            grant_ended=True,
            url=url,
        )
        if not owners:  # no token was live, but the grant ended: the trail (and the app's webhook) says so
            await self._publish(
                ev.TokensRevoked(
                    at=self._clock(),
                    client_id=client_id,
                    actor=actor or user_id,
                    families=[],
                    user_id=user_id,
                    reason=reason,
                    grant_ended=True,
                    url=url,
                )
            )
        await self._store.drop_grants(client_id, [user_id])
        log.info("grant revoked", client_id=client_id, user_id=user_id, reason=reason, families=len(owners))
        return len(owners)

    async def revoke_families(
        self,
        client_id: str,
        owners: dict[str, str],
        *,
        reason: str,
        user_id: str = "",
        actor: str = "",
        url: str = "",
        grant_ended: bool = False,
    ) -> list[Revoked]:
        """Tombstone, uncount and announce ``owners`` (family -> user id, "" when unknown), in batches."""
        out: list[Revoked] = []
        for index, batch in enumerate(chunks(list(owners))):
            ended = grant_ended and index == 0  # one event says the grant ended, however many batches
            out += await self._revoke_batch(
                client_id,
                batch,
                owners,
                reason=reason,
                user_id=user_id,
                actor=actor,
                url=url,
                grant_ended=ended,
            )
        if self._revoked is not None:
            self._revoked.labels(reason=reason).inc(sum(r.tokens for r in out))
        return out

    async def _revoke_batch(
        self,
        client_id: str,
        batch: Sequence[str],
        owners: dict[str, str],
        *,
        reason: str,
        user_id: str,
        actor: str,
        url: str = "",
        grant_ended: bool = False,
    ) -> list[Revoked]:
        now = int(self._clock())

        async def revoke(family: str) -> Revoked:
            return await self._store.revoke(family, now=now)

        async def uncount(item: tuple[str, str]) -> None:
            await self._store.remove_family(client_id, item[0], item[1])

        revoked = await gather_bounded(batch, revoke)
        # The family record names its user; a family that never got tokens (or whose record expired)
        # falls back to the user known from the index it was found in. Without one, the token endpoint
        # (a refused first issuance) or the sweeper (an expired family) uncounts it.
        pairs = [(r.user_id or owners.get(r.family, ""), r.family) for r in revoked]
        await gather_bounded([p for p in pairs if p[0]], uncount)
        await self._store.forget_pending(
            client_id, [grant_keys.pending_code_member(u, f) for u, f in pairs if u]
        )
        await self._publish(
            ev.TokensRevoked(
                at=self._clock(),
                client_id=client_id,
                actor=actor,
                families=list(batch),
                user_id=user_id,
                reason=reason,
                users=[] if user_id else unique(u for u, _ in pairs if u),
                grant_ended=grant_ended,
                url=url,
            )
        )
        return revoked
