"""The stored app record (JSON at ``keys.app(client_id)``): secret hashes only, never a secret.
Within a version only additive changes (new fields get defaults; types never change)."""

from __future__ import annotations

from shared.apps.settings import AppSettings
from shared.messages.registry import AppView


class AppRecord(AppSettings, frozen=True, kw_only=True):
    """Stored as JSON at ``keys.app(client_id)``: the app's settings (flat, as always) and what the
    registry keeps beside them; secret hashes only, never a secret."""

    client_id: str
    owner_id: str
    owner_name: str = ""
    has_logo: bool = False
    created_at: int
    updated_at: int
    secret_hash: str
    previous_secret_hash: str = ""
    previous_secret_until: int = 0  # epoch seconds; the previous secret is valid before this
    # A client secret reported leaked (``services/registry/leaks.py``): its HMAC, kept so a repeated
    # report is still recognised; the URL and time show the owner's banner until a new secret is made.
    leaked_secret_hash: str = ""
    leaked_url: str = ""
    leaked_at: int = 0

    def view(self) -> AppView:
        return AppView(**{name: getattr(self, name) for name in AppView.__struct_fields__})
