"""The resource servers' client (``shared.verify_client``) on the real bus: its local cache is evicted by
revocation-kind events within milliseconds, answers that raced an eviction are not cached, and cache hits
still count as API calls."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from shared import subjects
from shared.events import publish_event
from shared.grants import keys as grant_keys
from shared.messages.events import AppChanged, AppDeleted, ScopesNarrowed, TokensRevoked
from shared.messages.token import Introspection
from shared.tokens import Signer, parse
from shared.verify_client import TokenVerifier
from tests.support.polling import eventually
from tests.support.system import System
from tests.support.token_flow import Party, api_calls, new_party, tokens_for


@pytest.fixture
async def verifier(system: System) -> AsyncIterator[TokenVerifier]:
    v = TokenVerifier(system.nc, cache_ttl=30, report_interval=0.05)
    await v.start()
    yield v
    await v.close()


async def cached_only(system: System, token: str) -> None:
    """Delete the token's record behind the cache's back: from now on only the cache says it is active."""
    parsed = parse(token, "at")
    assert parsed is not None
    await system.redis.delete(
        grant_keys.access_token(parsed.family, Signer(system.settings.hmac_key).sign(token))
    )


async def eviction_ms(verifier: TokenVerifier, token: str, publish: Any) -> float:
    started = time.perf_counter()
    await publish()
    while (await verifier.verify(token)).active:
        await asyncio.sleep(0.0005)
        assert time.perf_counter() - started < 1.0, "not evicted"
    return (time.perf_counter() - started) * 1000


async def test_tokens_revoked_event_evicts_within_milliseconds(
    system: System, verifier: TokenVerifier
) -> None:
    party = await new_party(system)
    pair = await tokens_for(system, party)
    assert (await verifier.verify(pair["access_token"])).active
    await cached_only(system, pair["access_token"])
    assert (await verifier.verify(pair["access_token"])).active  # served from the cache
    family = pair["access_token"][9:25]
    event = TokensRevoked(at=time.time(), client_id=party.client_id, families=[family], reason="rfc7009")
    ms = await eviction_ms(
        verifier, pair["access_token"], lambda: publish_event(system.nc, event, audit=False)
    )
    assert ms < 50, ms
    assert len(verifier) == 0


async def test_app_deleted_and_scopes_narrowed_evict_but_app_changed_does_not(
    system: System, verifier: TokenVerifier
) -> None:
    party = await new_party(system)
    a, b = await tokens_for(system, party), await tokens_for(system, party)
    for pair in (a, b):
        assert (await verifier.verify(pair["access_token"])).active
        await cached_only(system, pair["access_token"])
    await publish_event(system.nc, AppChanged(at=time.time(), client_id=party.client_id), audit=False)
    await system.nc.flush()  # the server has handled it (and sent it to any subscriber of this client)
    assert len(verifier) == 2
    narrowed = ScopesNarrowed(
        at=time.time(),
        client_id=party.client_id,
        user_id=party.user.id,
        families=[a["access_token"][9:25]],
        scope="",
    )
    ms = await eviction_ms(
        verifier, a["access_token"], lambda: publish_event(system.nc, narrowed, audit=False)
    )
    assert ms < 50 and len(verifier) == 1
    deleted = AppDeleted(at=time.time(), client_id=party.client_id)
    ms = await eviction_ms(
        verifier, b["access_token"], lambda: publish_event(system.nc, deleted, audit=False)
    )
    assert ms < 50 and len(verifier) == 0


async def test_cache_hits_are_reported_as_api_calls(system: System, verifier: TokenVerifier) -> None:
    party: Party = await new_party(system)
    pair = await tokens_for(system, party)
    for _ in range(10):
        assert (await verifier.verify(pair["access_token"])).active
    await eventually(lambda: api_calls(system, party.client_id), lambda n: n == 10)


async def test_an_answer_that_raced_an_eviction_is_not_cached(
    system: System, verifier: TokenVerifier
) -> None:
    party = await new_party(system)
    pair = await tokens_for(system, party)
    real = verifier._bus.request

    async def racing(*args: Any, **kwargs: Any) -> Introspection:
        answer = await real(*args, **kwargs)
        verifier.evict_families([pair["access_token"][9:25]])  # a revocation arrives while in flight
        return answer

    verifier._bus.request = racing  # type: ignore[method-assign]
    assert (await verifier.verify(pair["access_token"])).active
    assert len(verifier) == 0


async def test_answers_of_a_batch_that_raced_an_eviction_are_not_cached(
    system: System, verifier: TokenVerifier
) -> None:
    """The epoch rule holds for a ``token.verify_many`` message too: none of its answers is cached."""
    party = await new_party(system)
    pairs = [await tokens_for(system, party) for _ in range(3)]
    real = verifier._bus.request
    subjects_asked: list[str] = []

    async def racing(subject: str, *args: Any, **kwargs: Any) -> Any:
        subjects_asked.append(subject)
        answer = await real(subject, *args, **kwargs)
        verifier.evict_families([pairs[0]["access_token"][9:25]])  # one revocation while in flight
        return answer

    verifier._bus.request = racing  # type: ignore[method-assign]
    answers = await asyncio.gather(*(verifier.verify(p["access_token"]) for p in pairs))
    assert all(a.active for a in answers)
    assert subjects_asked == [subjects.TOKEN_VERIFY_MANY]
    assert len(verifier) == 0
    verifier._bus.request = real  # type: ignore[method-assign]
    await asyncio.gather(*(verifier.verify(p["access_token"]) for p in pairs))
    assert len(verifier) == 3  # the next batch, with no eviction in flight, is cached


async def test_malformed_tokens_never_reach_the_bus(system: System) -> None:
    v = TokenVerifier(system.nc)
    v._bus = None  # type: ignore[assignment]  # any bus use would fail
    for token in ("", "Bearer", "mavio_at_x", "mavio_rt_" + "0" * 54):
        assert await v.verify(token) == Introspection(active=False)
