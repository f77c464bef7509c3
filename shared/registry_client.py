"""What other processes use to ask the registry about apps and accounts over the bus.

Callers may cache app views briefly (MAVIO_APP_CACHE_TTL); the cache is dropped at once on
app-changed / app-deleted / secret-regenerated events (see ``RegistryClient.watch``).
"""

from __future__ import annotations

from shared import subjects
from shared.bus import Bus
from shared.messages.registry import (
    AccountView,
    AppView,
    GetAccountRequest,
    GetAppRequest,
    VerifyClientRequest,
)


class RegistryClient:
    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    async def get_app(self, client_id: str, *, request_id: str | None = None) -> AppView:
        """The app's public view; raises ``NotFound`` for an unknown or deleted client_id."""
        return await self.bus.request(
            subjects.REGISTRY_GET_APP, GetAppRequest(client_id=client_id), AppView, request_id=request_id
        )

    async def verify_client(
        self, client_id: str, client_secret: str, *, request_id: str | None = None
    ) -> AppView:
        """Client authentication (RFC 6749 §2.3.1); raises ``InvalidClient`` on any mismatch."""
        return await self.bus.request(
            subjects.REGISTRY_VERIFY_CLIENT,
            VerifyClientRequest(client_id=client_id, client_secret=client_secret),
            AppView,
            request_id=request_id,
        )

    async def get_account(self, user_id: str, *, request_id: str | None = None) -> AccountView:
        """An account's view (plan included); raises ``NotFound``."""
        return await self.bus.request(
            subjects.REGISTRY_GET_ACCOUNT,
            GetAccountRequest(user_id=user_id),
            AccountView,
            request_id=request_id,
        )
