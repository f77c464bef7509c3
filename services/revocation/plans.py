"""Plan changes: every grant of the user is narrowed to the scopes the new plan includes.

For each family of the user, one atomic script (in the family's slot) rewrites the scope of the family
record and of every access and refresh token record, so a token carrying a removed scope stops
verifying for it at once; ``ScopesNarrowed`` makes verification caches evict the families. A family
that would be left without a scope is revoked instead, and so is a grant left without one (with its
codes not yet exchanged). A code not yet exchanged, of any of the user's apps and whichever consent it
came from, is revoked when its scope (``keys.code_scope``, kept until the code is exchanged or expires)
has one the new plan lacks: a code record cannot be found from its family to narrow it, and the user can
authorize again.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable

import structlog

from services.revocation.batching import gather_bounded
from services.revocation.cascade import Cascades
from services.revocation.domain import parse_pending_member
from services.revocation.publisher import Publish
from services.revocation.store import RevocationStore
from shared.errors import InvalidRequest
from shared.grants.records import GrantRecord
from shared.messages import events as ev
from shared.messages.revocation import PlanChangedReply
from shared.scopes import PLANS, ScopeCatalog

log = structlog.get_logger("mavio.revocation")

REASON = "plan"


class PlanNarrower:
    def __init__(
        self,
        store: RevocationStore,
        cascades: Cascades,
        catalog: ScopeCatalog,
        publish: Publish,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._cascades = cascades
        self._catalog = catalog
        self._publish = publish
        self._clock = clock

    async def plan_changed(self, user_id: str, plan: str, *, actor: str = ev.BILLING) -> PlanChangedReply:
        """Narrow every grant of the user to ``plan``; ``actor`` (billing, operator) goes in the audit."""
        if plan not in PLANS or not user_id:
            raise InvalidRequest(f"plan must be one of: {', '.join(PLANS)}; user_id is required")
        allowed = self._catalog.allowed_for_plan(plan)
        families = await self._store.user_families(user_id)
        narrowed = await gather_bounded(families, lambda f: self._store.narrow_family(f, allowed))
        by_app: dict[str, list[str]] = defaultdict(list)
        scopes: dict[str, str] = {}
        empty: dict[str, dict[str, str]] = defaultdict(dict)
        for family, result in zip(families, narrowed, strict=True):
            if result.outcome == "narrowed":
                by_app[result.client_id].append(family)
                scopes[result.client_id] = result.scope
            elif result.outcome == "empty":
                empty[result.client_id][family] = result.user_id or user_id
        for client_id, owners in empty.items():
            await self._cascades.revoke_families(
                client_id, owners, reason=REASON, user_id=user_id, actor=actor
            )
        grants_narrowed, grants_revoked = await self._narrow_grants(user_id, allowed, by_app, scopes, actor)
        log.info("plan applied", user_id=user_id, plan=plan, grants_revoked=grants_revoked)
        return PlanChangedReply(
            families_narrowed=sum(len(f) for f in by_app.values()),
            families_revoked=sum(len(o) for o in empty.values()),
            grants_narrowed=grants_narrowed,
            grants_revoked=grants_revoked,
        )

    async def _narrow_grants(
        self,
        user_id: str,
        allowed: frozenset[str],
        by_app: dict[str, list[str]],
        scopes: dict[str, str],
        actor: str,
    ) -> tuple[int, int]:
        """Narrow each grant record; revoke what a grant left empty; announce narrowed families."""
        narrowed_grants = revoked_grants = 0
        grants = await self._store.grants(user_id)
        for client_id in sorted(set(grants) | set(by_app)):
            outcome, scope = await self._store.narrow_grant(user_id, client_id, allowed)
            if outcome == "empty":
                await self._cascades.revoke_grant(user_id, client_id, reason=REASON, actor=actor)
                revoked_grants += 1
                continue
            if outcome == "narrowed":
                narrowed_grants += 1
            await self._revoke_pending(user_id, client_id, allowed, actor)
            if by_app.get(client_id) or outcome == "narrowed":  # the grant alone, too (app webhooks)
                now = scope or scopes.get(client_id, "")
                await self._announce(user_id, client_id, by_app.get(client_id, []), now, grants, actor)
        return narrowed_grants, revoked_grants

    async def _announce(
        self,
        user_id: str,
        client_id: str,
        families: list[str],
        scope: str,
        grants: dict[str, GrantRecord],
        actor: str,
    ) -> None:
        """``ScopesNarrowed``: these families (caches) and the grant (``removed_scopes``) now carry less."""
        await self._publish(
            ev.ScopesNarrowed(
                at=self._clock(),
                client_id=client_id,
                actor=actor,
                user_id=user_id,
                families=families,
                scope=scope,
                removed_scopes=_removed(grants.get(client_id), scope),
            )
        )

    async def _revoke_pending(
        self, user_id: str, client_id: str, allowed: frozenset[str], actor: str
    ) -> None:
        """Tombstone the user's codes of the app not exchanged yet whose scope the plan no longer covers,
        whichever consent they came from (their family has no tokens: nothing to narrow). The index also
        lists exchanged codes' families: those were narrowed above."""
        mine = [
            parsed[1]
            for member in await self._store.pending(client_id)
            if (parsed := parse_pending_member(member)) is not None and parsed[0] == user_id
        ]
        results = await gather_bounded(mine, lambda f: self._store.narrow_family(f, allowed))
        unexchanged = [f for f, r in zip(mine, results, strict=True) if r.outcome == "gone"]
        scopes = await gather_bounded(unexchanged, self._store.code_scope)
        owners = {f: user_id for f, r in zip(mine, results, strict=True) if r.outcome == "empty"}
        owners |= {f: user_id for f, s in zip(unexchanged, scopes, strict=True) if _outside(s, allowed)}
        if owners:
            await self._cascades.revoke_families(
                client_id, owners, reason=REASON, user_id=user_id, actor=actor
            )


def _removed(before: GrantRecord | None, scope: str) -> list[str]:
    """The scopes the grant had before the change and has no longer."""
    had = before.scope.split() if before is not None else []
    return sorted(set(had) - set(scope.split()))


def _outside(scope: str | None, allowed: frozenset[str]) -> bool:
    """A pending code with a scope the plan lacks. None: nothing pending any more (the code was
    exchanged or reused, its family speaks for it; or it expired)."""
    return scope is not None and not set(scope.split()) <= allowed
