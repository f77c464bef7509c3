"""The apps a user has authorized (Settings > Connected apps).

A grant (``grant_keys.user_grants``) is listed while it is an active authorization
(``shared.grants.active``, the definition the app page's count uses too): a live family of the app, or
the latest authorization's code not exchanged, expired or revoked yet. Grants of apps that no longer
exist are skipped. Newest authorization first.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

from services.revocation.store import RevocationStore
from shared.errors import NotFound
from shared.grants.records import GrantRecord
from shared.messages.registry import AppView
from shared.messages.revocation import ConnectedApp, ConnectedAppsReply
from shared.scopes import ScopeCatalog


class AppViews(Protocol):
    async def get_app(self, client_id: str, *, request_id: str | None = None) -> AppView: ...


class ConnectedApps:
    def __init__(
        self,
        store: RevocationStore,
        apps: AppViews,
        catalog: ScopeCatalog,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._apps = apps
        self._catalog = catalog
        self._clock = clock

    async def list(self, user_id: str, *, request_id: str) -> ConnectedAppsReply:
        grants = list((await self._store.grants(user_id)).values())
        active = await self._store.live_grants([(user_id, g) for g in grants], now=self._clock())
        live = [g for g, is_active in zip(grants, active, strict=True) if is_active]
        views = await asyncio.gather(*(self._view(g.client_id, request_id) for g in live))
        apps = [self._entry(g, v) for g, v in zip(live, views, strict=True) if v is not None]
        apps.sort(key=lambda a: (-a.authorized_at, a.name))
        return ConnectedAppsReply(apps=apps)

    async def _view(self, client_id: str, request_id: str) -> AppView | None:
        try:
            return await self._apps.get_app(client_id, request_id=request_id)
        except NotFound:
            return None

    def _entry(self, grant: GrantRecord, app: AppView) -> ConnectedApp:
        return ConnectedApp(
            client_id=app.client_id,
            name=app.name,
            has_logo=app.has_logo,
            logo_version=app.updated_at,
            scopes=self._catalog.ordered(grant.scope.split()),
            authorized_at=grant.authorized_at,
            last_used_at=grant.last_used_at,
        )
