"""After a reused code or refresh token revoked its family: uncount it and tell the bus.

RFC 6749 §4.1.2 (a code used twice SHOULD revoke the tokens issued from it) and RFC 9700 §4.14.2 (a
rotated refresh token used again revokes the grant). The store already deleted the tokens atomically;
this publishes ``CodeReused`` / ``RefreshReused`` and ``TokensRevoked`` (caches evict at once, the audit
stream keeps them) and removes the family from the per-app and per-user indexes.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Literal

import structlog

from services.token.metrics import TokenMetrics
from shared.grants.storage import IndexStore, Revoked
from shared.messages import events as ev

log = structlog.get_logger("mavio.token")

Publish = Callable[[ev.Event], Awaitable[None]]


class ReuseResponder:
    def __init__(self, indexes: IndexStore, publish: Publish, metrics: TokenMetrics | None = None) -> None:
        self._indexes = indexes
        self._publish = publish
        self._metrics = metrics if metrics is not None else TokenMetrics()
        self._revoked = {
            kind: self._metrics.revoked.labels(reason=f"{kind}_reused") for kind in ("code", "refresh")
        }

    async def revoked_by_reuse(
        self, revoked: Revoked, *, kind: Literal["code", "refresh"], presenting_client: str
    ) -> None:
        """Uncount the family and publish the reuse and the revocation (never a token: the family id)."""
        client_id = revoked.client_id or presenting_client
        (self._metrics.code_reused if kind == "code" else self._metrics.refresh_reused).inc()
        self._revoked[kind].inc(revoked.tokens)
        log.warning(
            f"{kind} reuse: family revoked", family=revoked.family, client_id=client_id, tokens=revoked.tokens
        )
        if revoked.client_id:
            await self._indexes.remove_family(revoked.client_id, revoked.user_id, revoked.family)
        now = time.time()
        reused: ev.Event
        if kind == "code":
            reused = ev.CodeReused(
                at=now,
                client_id=client_id,
                actor=ev.SYSTEM,
                family=revoked.family,
                user_id=revoked.user_id,
                presenting_client=presenting_client,
            )
        else:
            reused = ev.RefreshReused(
                at=now, client_id=client_id, actor=ev.SYSTEM, family=revoked.family, user_id=revoked.user_id
            )
        await self._publish(reused)
        if revoked.tokens:
            await self._publish(
                ev.TokensRevoked(
                    at=now,
                    client_id=client_id,
                    actor=ev.SYSTEM,
                    families=[revoked.family],
                    user_id=revoked.user_id,
                    reason=f"{kind}_reused",
                )
            )
