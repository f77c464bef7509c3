"""The stored app record (JSON at ``keys.app(client_id)``): secret hashes only, never a secret in the
clear (the webhook signing secret, which must stay usable for signing, is sealed).
Within a version only additive changes (new fields get defaults; types never change)."""

from __future__ import annotations

from shared.apps.settings import AppRegistration
from shared.messages.registry import AppView


class AppRecord(AppRegistration, frozen=True, kw_only=True):
    """Stored as JSON at ``keys.app(client_id)``: the app's settings (flat, as always) and what the
    registry keeps beside them; secret hashes only, never a secret."""

    client_id: str
    owner_id: str
    owner_name: str = ""
    has_logo: bool = False
    created_at: int
    updated_at: int
    secret_hash: str  # "" for a public app: it has no secret (RFC 6749 §2.1)
    previous_secret_hash: str = ""
    previous_secret_until: int = 0  # epoch seconds; the previous secret is valid before this
    # The webhook signing secret (``whsec_`` + base64), sealed (``shared.sealing``, purpose
    # ``webhook:<client_id>``): the webhooks service opens it to sign; "" while no webhook URL is set.
    webhook_secret: str = ""
    # A client secret reported leaked (``services/registry/leaks.py``): its HMAC, kept so a repeated
    # report is still recognised; the URL and time show the owner's banner until a new secret is made.
    leaked_secret_hash: str = ""
    leaked_url: str = ""
    leaked_at: int = 0

    def view(self) -> AppView:
        return AppView(**{name: getattr(self, name) for name in AppView.__struct_fields__})
