"""The app-view cache callers keep (``shared.registry_client.AppViewCache``): TTL, bound, eviction."""

from __future__ import annotations

import time

import pytest

from shared.messages.registry import AppView
from shared.registry_client import AppViewCache


def view(client_id: str = "mavio_client_AAAAAAAAAAAAAAAA", name: str = "App") -> AppView:
    return AppView(
        client_id=client_id,
        name=name,
        homepage_url="https://a.example",
        redirect_uris=[],
        scopes=[],
        owner_id="u",
    )


def test_a_view_is_served_until_its_ttl_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = AppViewCache(30)
    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now)
    cache.put(view(), seen_evictions=cache.evictions)
    assert cache.get(view().client_id) == view()
    monkeypatch.setattr(time, "monotonic", lambda: now + 30)
    assert cache.get(view().client_id) is None and len(cache) == 0


def test_zero_ttl_disables_caching() -> None:
    cache = AppViewCache(0)
    cache.put(view(), seen_evictions=cache.evictions)
    assert cache.get(view().client_id) is None


def test_eviction_drops_the_view_and_spoils_fetches_already_in_flight() -> None:
    cache = AppViewCache(30)
    cache.put(view(), seen_evictions=cache.evictions)
    started = cache.evictions  # a fetch starts...
    cache.evict(view().client_id)  # ...an app.changed event arrives...
    assert cache.get(view().client_id) is None
    cache.put(view(name="stale"), seen_evictions=started)  # ...the fetch's answer may predate it
    assert cache.get(view().client_id) is None
    cache.put(view(name="fresh"), seen_evictions=cache.evictions)
    assert cache.get(view().client_id) == view(name="fresh")


def test_the_cache_is_bounded() -> None:
    cache = AppViewCache(30, max_entries=3)
    for i in range(5):
        cache.put(view(client_id=f"mavio_client_{i:016d}"), seen_evictions=cache.evictions)
    assert len(cache) == 3
    assert cache.get(f"mavio_client_{0:016d}") is None and cache.get(f"mavio_client_{4:016d}") is not None
