"""Consent pages in Redis (``services.authorize.page_store``), on a single Redis and on a real Redis
Cluster: one key per page with its own TTL, taken once, bound to the user, an app's pages forgotten
together, and at most ``max_pages`` open pages per user, the oldest dropped (issue 22: 4,000 pages with a
2 KB ``state`` had built one 10.7 MB hash, read and decoded whole on every save)."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator

import pytest

from services.authorize.page_store import RedisPageStore
from services.authorize.pages import ConsentRecord
from shared import keys
from shared.messages.authorize import CheckedRequest
from shared.tokens import Signer
from tests.support.system import DEPLOYMENTS, System, on_deployment

SIGNER = Signer(b"p" * 32)
APP = "mavio_client_PageStoreTest00001"
OTHER_APP = "mavio_client_PageStoreTest00002"
CAP = 5


@pytest.fixture(scope="module", params=DEPLOYMENTS)
async def deployment(request: pytest.FixtureRequest, system: System) -> AsyncIterator[System]:
    async with on_deployment(request.param, system) as sut:
        yield sut


def page(client_id: str = APP, *, state: str = "st", ttl: int = 60) -> tuple[str, ConsentRecord]:
    """A new page's signature and record."""
    now = int(time.time())
    request = CheckedRequest(
        client_id=client_id,
        redirect_uri="https://client.example/cb",
        scopes=["meetings:read"],
        state=state,
        code_challenge="c" * 43,
        code_challenge_method="S256",
        redirect_uri_given=True,
    )
    record = ConsentRecord(
        request=request, session="s" * 43, grant_authorized_at=0, shown_at=now, expires_at=now + ttl
    )
    return SIGNER.sign(secrets.token_urlsafe(32)), record


async def user_keys(system: System, user: str) -> list[bytes]:
    """Every consent key of the user (its pages and its list)."""
    found: list[bytes] = []
    for pattern in (keys.consent_page(user, "*"), keys.consent_pages(user)):
        found += [k async for k in system.redis.scan_iter(match=pattern, count=1000)]
    return found


def new_user() -> str:
    return f"usr_{secrets.token_hex(8)}"


async def test_a_page_is_its_own_key_with_its_ttl_and_is_taken_once(deployment: System) -> None:
    store, user = RedisPageStore(deployment.redis, max_pages=CAP), new_user()
    sig, record = page()
    await store.save_consent(user, sig, record, 60)
    assert 0 < await deployment.redis.ttl(keys.consent_page(user, sig)) <= 60
    assert await store.take_consent(new_user(), sig) is None  # bound to the user: another finds nothing
    taken = await asyncio.gather(*(store.take_consent(user, sig) for _ in range(10)))
    assert [t for t in taken if t is not None] == [record]  # exactly one decision gets it
    assert await user_keys(deployment, user) == []  # the page and its entry in the list are gone


async def test_over_the_cap_the_oldest_pages_go_and_the_newest_stay(deployment: System) -> None:
    store, user = RedisPageStore(deployment.redis, max_pages=CAP), new_user()
    saved = [page(state="x" * 2048) for _ in range(CAP + 3)]
    for sig, record in saved:
        await store.save_consent(user, sig, record, 60)
    assert len(await user_keys(deployment, user)) == CAP + 1  # CAP pages and the list
    assert await deployment.redis.llen(keys.consent_pages(user)) == CAP
    for sig, _ in saved[:3]:
        assert await store.take_consent(user, sig) is None
    for sig, record in saved[3:]:
        assert await store.take_consent(user, sig) == record


async def test_a_taken_page_frees_its_place_under_the_cap(deployment: System) -> None:
    store, user = RedisPageStore(deployment.redis, max_pages=CAP), new_user()
    saved = [page() for _ in range(CAP)]
    for sig, record in saved:
        await store.save_consent(user, sig, record, 60)
    assert await store.take_consent(user, saved[-1][0]) is not None
    newer = page()
    await store.save_consent(user, *newer, 60)
    for sig, record in [*saved[:-1], newer]:  # nothing dropped: CAP open pages
        assert await store.take_consent(user, sig) == record


async def test_forgetting_an_app_drops_its_pages_only(deployment: System) -> None:
    store, user = RedisPageStore(deployment.redis, max_pages=CAP), new_user()
    mine = [page(APP) for _ in range(2)]
    other = page(OTHER_APP)
    for sig, record in [*mine, other]:
        await store.save_consent(user, sig, record, 60)
    await store.forget_consents(user, APP)
    for sig, _ in mine:
        assert await store.take_consent(user, sig) is None
    assert await store.take_consent(user, other[0]) == other[1]
    assert await user_keys(deployment, user) == []


async def test_a_page_expires_with_its_ttl(deployment: System) -> None:
    store, user = RedisPageStore(deployment.redis, max_pages=CAP), new_user()
    sig, record = page(ttl=1)
    await store.save_consent(user, sig, record, 1)
    deadline = time.monotonic() + 3  # the TTL and a margin
    while await deployment.redis.exists(keys.consent_page(user, sig)):
        assert time.monotonic() < deadline, "the page outlived its TTL"
        await asyncio.sleep(0.05)
    assert await store.take_consent(user, sig) is None
    assert await user_keys(deployment, user) == []  # the list lives as long as its newest page
