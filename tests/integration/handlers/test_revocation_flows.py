"""RFC 7009 revocation and the sweeper's decisions on the real grant store, sweep store and lease over
a real Redis: what is revoked, what is left untouched, which errors and events result (RFC error
strings asserted). The stores are observed (``Recorded``), never stood in for."""

from __future__ import annotations

import time
from typing import Any

import pytest

from services.revocation.cascade import Cascades
from services.revocation.lease import Lease
from services.revocation.rfc7009 import TokenRevoker
from services.revocation.sweeper import Sweeper
from services.token.issuance import first_records, mint_pair
from shared import keys
from shared.errors import InvalidClient, InvalidRequest, UnauthorizedClient
from shared.grants import keys as grant_keys
from shared.grants.storage import FirstPair, Revoked
from shared.grants.store import RedisGrantStore, grant_store
from shared.grants.sweep import DueFamily, RedisSweepStore
from shared.messages import events as ev
from shared.messages.registry import AppView
from shared.messages.revocation import RevokeTokenRequest
from shared.tokens import Signer, mint
from tests.support.system import System

SIGNER = Signer(b"k" * 32)
FAMILY = "FAMILY0123456789"
MINE, THEIRS = "mavio_client_Mine000000000000", "mavio_client_Theirs0000000000"


class Clients:
    async def verify_client(
        self, client_id: str, client_secret: str, *, request_id: str | None = None
    ) -> AppView:
        if client_secret != "right":
            raise InvalidClient("client authentication failed")
        return AppView(
            client_id=client_id,
            name="App",
            homepage_url="https://a",
            redirect_uris=[],
            scopes=[],
            owner_id="o",
        )


class Store:
    """The real grant store; every change asked of it is logged in ``calls`` (reads pass through)."""

    def __init__(self, real: RedisGrantStore) -> None:
        self.real = real
        self.calls: list[tuple[str, ...]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    async def revoke_access(self, family: str, signature: str) -> bool:
        self.calls.append(("revoke_access", family))
        return await self.real.revoke_access(family, signature)

    async def revoke(self, family: str, *, now: int) -> Revoked:
        self.calls.append(("revoke_family", family))
        return await self.real.revoke(family, now=now)

    async def remove_family(self, client_id: str, user_id: str, family: str) -> None:
        self.calls.append(("uncount", client_id, user_id, family))
        await self.real.remove_family(client_id, user_id, family)

    async def forget_pending(self, client_id: str, members: list[str]) -> None:
        self.calls.append(("forget_pending", client_id, *members))
        await self.real.forget_pending(client_id, members)


@pytest.fixture
def store(redis: Any, system: System) -> Store:
    return Store(grant_store(redis, system.settings))


async def token_for(kind: str, client_id: str, store: Store) -> str:
    """The access ("at") or refresh ("rt") token of FAMILY's first pair, issued to ``client_id`` for
    usr_1 by the real store (counted in the app's and the user's indexes)."""
    pair, now = mint_pair(FAMILY, SIGNER), int(time.time())
    access, refresh = first_records(
        pair, family=FAMILY, client_id=client_id, user_id="usr_1", scope="s", now=now, access_ttl=60,
        refresh_ttl=600,
    )  # fmt: skip
    first = FirstPair(
        family=FAMILY, client_id=client_id, user_id="usr_1", scope="s", access_sig=pair.access_sig,
        access_record=access, refresh_sig=pair.refresh_sig, refresh_record=refresh,
    )  # fmt: skip
    assert await store.real.issue_first_counted(first, now=now)
    return pair.access_token if kind == "at" else pair.refresh_token


def revoker(store: Store, events: list[ev.Event]) -> TokenRevoker:
    async def publish(event: ev.Event) -> None:
        events.append(event)

    return TokenRevoker(Clients(), store, Cascades(store, publish), SIGNER, publish)  # type: ignore[arg-type]


def request(token: str, secret: str = "right", client_id: str = MINE) -> RevokeTokenRequest:
    return RevokeTokenRequest(client_id=client_id, client_secret=secret, token=token)


async def test_an_access_token_revokes_only_itself(store: Store) -> None:
    events = list[ev.Event]()
    token = await token_for("at", MINE, store)
    reply = await revoker(store, events).revoke(request(token), request_id="r")
    assert reply.revoked and store.calls == [("revoke_access", FAMILY)]
    assert [(type(e), e.families, e.reason) for e in events] == [(ev.TokensRevoked, [FAMILY], "rfc7009")]  # type: ignore[union-attr]


async def test_a_refresh_token_revokes_and_uncounts_its_family(store: Store) -> None:
    events = list[ev.Event]()
    token = await token_for("rt", MINE, store)
    assert (await revoker(store, events).revoke(request(token), request_id="r")).revoked
    assert store.calls == [
        ("revoke_family", FAMILY),
        ("uncount", MINE, "usr_1", FAMILY),
        ("forget_pending", MINE, grant_keys.pending_code_member("usr_1", FAMILY)),
    ]
    assert isinstance(events[0], ev.TokensRevoked) and events[0].user_id == "usr_1"


@pytest.mark.parametrize("kind", ["at", "rt"])
async def test_another_clients_token_is_refused_and_untouched(kind: str, store: Store) -> None:
    events = list[ev.Event]()
    token = await token_for(kind, THEIRS, store)
    with pytest.raises(UnauthorizedClient) as caught:
        await revoker(store, events).revoke(request(token), request_id="r")
    assert caught.value.error == "unauthorized_client"
    assert store.calls == [] and events == []


@pytest.mark.parametrize("token", ["garbage", mint("at", FAMILY), mint("rt", FAMILY), mint("code", FAMILY)])
async def test_unknown_malformed_and_code_tokens_change_nothing(token: str, store: Store) -> None:
    events = list[ev.Event]()
    reply = await revoker(store, events).revoke(request(token), request_id="r")
    assert not reply.revoked and store.calls == [] and events == []


async def test_missing_token_and_bad_client(store: Store) -> None:
    events = list[ev.Event]()
    with pytest.raises(InvalidRequest) as missing:
        await revoker(store, events).revoke(request(""), request_id="r")
    assert missing.value.error == "invalid_request"
    with pytest.raises(InvalidClient) as bad:
        await revoker(store, events).revoke(
            request(await token_for("at", MINE, store), "wrong"), request_id="r"
        )
    assert bad.value.error == "invalid_client" and store.calls == []


# ---- the sweeper ---------------------------------------------------------------------------------


class SweepStore:
    """The real sweep store over the folder's Redis; what the sweeper asked of it is logged (``left_ms``:
    what it answered for each family's refresh tokens), and ``queue`` reads the real work list."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self.real = RedisSweepStore(redis)
        self.uncounted: list[DueFamily] = []
        self.rescheduled: dict[str, float] = {}
        self.dropped_grants: list[tuple[str, str]] = []
        self.left_ms: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    async def queued(self) -> list[str]:
        return [m.decode() for m in await self.redis.zrange(grant_keys.expiry_queue(), 0, -1)]

    async def refresh_left_ms(self, families: list[str]) -> list[int]:
        left = await self.real.refresh_left_ms(families)
        self.left_ms.update(zip(families, left, strict=True))
        return left

    async def reschedule(self, scores: dict[str, float]) -> None:
        self.rescheduled.update(scores)
        await self.real.reschedule(scores)

    async def uncount(self, entries: list[DueFamily]) -> None:
        self.uncounted += entries
        await self.real.uncount(entries)

    async def drop_idle_grants(self, pairs: list[tuple[str, str]], *, cutoff: int) -> None:
        self.dropped_grants += pairs
        await self.real.drop_idle_grants(pairs, cutoff=cutoff)


async def sweep_store(redis: Any, due: list[str], live: dict[str, int]) -> SweepStore:
    """``due`` in the work list, in that order, due by the sweeper's clock (1000 s); each family in
    ``live`` with a refresh token that Redis keeps for that many more milliseconds."""
    await redis.zadd(grant_keys.expiry_queue(), {m: 990 + i for i, m in enumerate(due)})
    for family, ms in live.items():
        token_key = grant_keys.refresh_token(family, "0" * 32)
        await redis.set(token_key, b"{}", px=ms)
        await redis.zadd(grant_keys.family_members(family), {token_key: 9_999_999_999})
    return SweepStore(redis)


async def lease(redis: Any, held: bool) -> Lease:
    """The real sweeper lease; when not ``held``, another replica holds it."""
    if not held:
        assert await Lease(redis, keys.sweep_lease(), ttl_ms=60_000, holder="another").acquire()
    return Lease(redis, keys.sweep_lease(), ttl_ms=3_000, holder="me")


async def sweeper(redis: Any, store: SweepStore, held: bool, events: list[ev.Event]) -> Sweeper:
    async def publish(event: ev.Event) -> None:
        events.append(event)

    held_lease = await lease(redis, held)
    return Sweeper(store, held_lease, publish, interval=0.2, code_ttl=600, batch=2, clock=lambda: 1000.0)  # type: ignore[arg-type]


async def test_the_sweeper_uncounts_dead_families_and_reschedules_live_ones(redis: Any) -> None:
    members = [grant_keys.expiry_member("c", f"F{i}", f"u{i}") for i in range(5)]
    store, events = await sweep_store(redis, [*members, "junk"], live={"F1": 2500}), list[ev.Event]()
    assert await (await sweeper(redis, store, True, events)).sweep_once() == 4
    assert [e.family for e in store.uncounted] == ["F0", "F2", "F3", "F4"]
    assert 0 < store.left_ms["F1"] <= 2500  # what Redis still keeps of its refresh token
    # the millisecond its refresh token expires
    assert store.rescheduled == {members[1]: (1000 * 1000 + store.left_ms["F1"]) / 1000}
    assert await store.queued() == [members[1]]  # "junk" dropped, the live one stays
    assert [e.family for e in events if isinstance(e, ev.GrantExpired)] == ["F0", "F2", "F3", "F4"]
    assert ("c", "u0") in store.dropped_grants


async def test_without_the_lease_the_sweeper_does_nothing(redis: Any) -> None:
    store = await sweep_store(redis, [grant_keys.expiry_member("c", "F0", "u0")], live={})
    events = list[ev.Event]()
    assert await (await sweeper(redis, store, False, events)).sweep_once() == 0
    assert store.uncounted == [] and events == []
