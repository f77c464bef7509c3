"""The stored app record (JSON at ``keys.app(client_id)``): secret hashes only, never a secret.
Within a version only additive changes (new fields get defaults; types never change)."""

from __future__ import annotations

import msgspec

from shared.apps.validation import AppInput
from shared.messages.registry import AppView


class AppRecord(msgspec.Struct, frozen=True, kw_only=True):
    """Stored as JSON at ``keys.app(client_id)``; secret hashes only, never a secret."""

    client_id: str
    name: str
    description: str = ""
    homepage_url: str
    redirect_uris: list[str]
    scopes: list[str]
    require_pkce: bool = False
    owner_id: str
    owner_name: str = ""
    has_logo: bool = False
    created_at: int
    updated_at: int
    secret_hash: str
    previous_secret_hash: str = ""
    previous_secret_until: int = 0  # epoch seconds; the previous secret is valid before this

    def view(self) -> AppView:
        return AppView(
            client_id=self.client_id,
            name=self.name,
            description=self.description,
            homepage_url=self.homepage_url,
            redirect_uris=list(self.redirect_uris),
            scopes=list(self.scopes),
            require_pkce=self.require_pkce,
            owner_id=self.owner_id,
            owner_name=self.owner_name,
            has_logo=self.has_logo,
            created_at=self.created_at,
            updated_at=self.updated_at,
        )

    def input(self) -> AppInput:
        return AppInput(
            name=self.name,
            description=self.description,
            homepage_url=self.homepage_url,
            redirect_uris=list(self.redirect_uris),
            scopes=list(self.scopes),
            require_pkce=self.require_pkce,
        )
