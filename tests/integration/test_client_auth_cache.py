"""The token service's client authentication from cached app records (``shared.apps.client_auth_cache``)
on real NATS + Redis: the same answers as the registry's, unknown clients never cached, and a secret
regeneration, an edit or a deletion seen at once through the app events."""

from __future__ import annotations

import pytest

from shared.apps.client_auth_cache import CachedClientVerifier
from shared.apps.store import RedisAppStore
from shared.errors import InvalidClient
from shared.messages.registry import AppView, UpdateAppRequest
from shared.registry_client import RegistryClient
from shared.tokens import Signer
from tests.support.factories import create_account, create_app
from tests.support.system import System


async def cached_verifier(system: System) -> CachedClientVerifier:
    signer = Signer(system.settings.hmac_key)
    clients = CachedClientVerifier(RedisAppStore(system.redis), signer, cache_ttl=3600)
    await clients.watch(system.nc)
    await system.nc.flush()
    return clients


async def primed(system: System) -> tuple[CachedClientVerifier, RegistryClient, str, AppView, str]:
    """A watching verifier that has cached one new app: (verifier, registry, owner id, app, secret)."""
    clients = await cached_verifier(system)
    owner = await create_account(system)
    app, secret = await create_app(system, owner)
    await clients.verify_client(app.client_id, secret)
    return clients, RegistryClient(system.bus), owner.id, app, secret


async def test_same_answers_as_the_registry_and_unknown_clients_are_not_cached(system: System) -> None:
    clients = await cached_verifier(system)
    registry = RegistryClient(system.bus)
    owner = await create_account(system)
    app, secret = await create_app(system, owner)
    assert await clients.verify_client(app.client_id, secret) == await registry.verify_client(
        app.client_id, secret
    )
    assert len(clients.cache) == 1
    assert await clients.verify_client(app.client_id, secret) == app  # from the cache
    for client_id, presented in [
        (app.client_id, secret + "x"),
        (app.client_id, ""),
        ("mavio_client_doesnotexist0001", secret),
    ]:
        with pytest.raises(InvalidClient):
            await clients.verify_client(client_id, presented)
    assert len(clients.cache) == 1


async def test_regenerated_secret_refuses_the_old_one_at_once(system: System) -> None:
    clients, registry, owner_id, app, old = await primed(system)
    new = (await registry.regenerate_secret(owner_id, app.client_id)).client_secret
    with pytest.raises(InvalidClient):
        await clients.verify_client(app.client_id, old)
    assert (await clients.verify_client(app.client_id, new)).client_id == app.client_id


async def test_kept_old_secret_stays_valid_and_an_edit_is_seen(system: System) -> None:
    clients, registry, owner_id, app, old = await primed(system)
    new = (await registry.regenerate_secret(owner_id, app.client_id, keep_old_seconds=3600)).client_secret
    await clients.verify_client(app.client_id, old)
    await clients.verify_client(app.client_id, new)
    await registry.update_app(
        UpdateAppRequest(user_id=owner_id, client_id=app.client_id, description="changed")
    )
    assert (await clients.verify_client(app.client_id, new)).description == "changed"


async def test_deleted_app_is_refused_at_once(system: System) -> None:
    clients, registry, owner_id, app, secret = await primed(system)
    await registry.delete_app(owner_id, app.client_id)
    with pytest.raises(InvalidClient):
        await clients.verify_client(app.client_id, secret)
    assert len(clients.cache) == 0


async def test_the_view_is_made_once_per_record_and_an_edit_is_seen(system: System) -> None:
    """The view is made once per cached record object; after ``app.changed`` the answer is the new one."""
    clients, registry, owner_id, app, secret = await primed(system)
    first = await clients.verify_client(app.client_id, secret)
    assert await clients.verify_client(app.client_id, secret) is first  # the same record: its view kept
    await registry.update_app(UpdateAppRequest(user_id=owner_id, client_id=app.client_id, name="Renamed"))
    changed = await clients.verify_client(app.client_id, secret)
    assert changed.name == "Renamed" and changed == await registry.get_app(app.client_id)
