"""Messages of the registry service (apps and accounts)."""

from __future__ import annotations

import msgspec


class AppView(msgspec.Struct, frozen=True, kw_only=True):
    """An app's public view: what authorize, token and the gateway may know. No secret material."""

    client_id: str
    name: str
    description: str = ""
    homepage_url: str
    redirect_uris: list[str]
    scopes: list[str]  # approved at registration, catalog order
    owner_id: str
    owner_name: str = ""
    has_logo: bool = False
    created_at: int = 0
    updated_at: int = 0


class AccountView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    email: str
    display_name: str
    plan: str  # free | pro | business


class GetAppRequest(msgspec.Struct, frozen=True, kw_only=True):
    client_id: str


class VerifyClientRequest(msgspec.Struct, frozen=True, kw_only=True):
    client_id: str
    client_secret: str


class GetAccountRequest(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
