"""RFC 7009 revocation and the sweeper's decisions against in-memory stand-ins for the stores: what is
revoked, what is left untouched, which errors and events result (RFC error strings asserted)."""

from __future__ import annotations

import msgspec
import pytest

from services.revocation.cascade import Cascades
from services.revocation.lease import Lease
from services.revocation.rfc7009 import TokenRevoker
from services.revocation.sweeper import Sweeper
from shared.errors import InvalidClient, InvalidRequest, UnauthorizedClient
from shared.grants import keys as grant_keys
from shared.grants.records import AccessTokenRecord, RefreshTokenRecord
from shared.grants.storage import Revoked
from shared.grants.sweep import DueFamily
from shared.messages import events as ev
from shared.messages.registry import AppView
from shared.messages.revocation import RevokeTokenRequest
from shared.tokens import Signer, mint

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
    """Records keyed by signature; every change is logged in ``calls``."""

    def __init__(self) -> None:
        self.access: dict[str, bytes] = {}
        self.refresh: dict[str, bytes] = {}
        self.calls: list[tuple[str, ...]] = []

    async def get_access(self, family: str, signature: str) -> bytes | None:
        return self.access.get(signature)

    async def get_refresh(self, family: str, signature: str) -> bytes | None:
        return self.refresh.get(signature)

    async def revoke_access(self, family: str, signature: str) -> bool:
        self.calls.append(("revoke_access", family))
        return self.access.pop(signature, None) is not None

    async def revoke(self, family: str, *, now: int) -> Revoked:
        self.calls.append(("revoke_family", family))
        return Revoked(family, MINE, "usr_1", 2)

    async def remove_family(self, client_id: str, user_id: str, family: str) -> None:
        self.calls.append(("uncount", client_id, user_id, family))

    async def forget_pending(self, client_id: str, members: list[str]) -> None:
        self.calls.append(("forget_pending", client_id, *members))


def token_for(kind: str, client_id: str, store: Store) -> str:
    token = mint(kind, FAMILY)  # type: ignore[arg-type]
    record_type = AccessTokenRecord if kind == "at" else RefreshTokenRecord
    record = record_type(
        family=FAMILY, client_id=client_id, user_id="usr_1", scope="s", issued_at=1, expires_at=9
    )
    (store.access if kind == "at" else store.refresh)[SIGNER.sign(token)] = msgspec.json.encode(record)
    return token


def revoker(store: Store, events: list[ev.Event]) -> TokenRevoker:
    async def publish(event: ev.Event) -> None:
        events.append(event)

    return TokenRevoker(Clients(), store, Cascades(store, publish), SIGNER, publish)  # type: ignore[arg-type]


def request(token: str, secret: str = "right", client_id: str = MINE) -> RevokeTokenRequest:
    return RevokeTokenRequest(client_id=client_id, client_secret=secret, token=token)


async def test_an_access_token_revokes_only_itself() -> None:
    store, events = Store(), list[ev.Event]()
    token = token_for("at", MINE, store)
    reply = await revoker(store, events).revoke(request(token), request_id="r")
    assert reply.revoked and store.calls == [("revoke_access", FAMILY)]
    assert [(type(e), e.families, e.reason) for e in events] == [(ev.TokensRevoked, [FAMILY], "rfc7009")]  # type: ignore[union-attr]


async def test_a_refresh_token_revokes_and_uncounts_its_family() -> None:
    store, events = Store(), list[ev.Event]()
    token = token_for("rt", MINE, store)
    assert (await revoker(store, events).revoke(request(token), request_id="r")).revoked
    assert store.calls == [
        ("revoke_family", FAMILY),
        ("uncount", MINE, "usr_1", FAMILY),
        ("forget_pending", MINE, grant_keys.pending_code_member("usr_1", FAMILY)),
    ]
    assert isinstance(events[0], ev.TokensRevoked) and events[0].user_id == "usr_1"


@pytest.mark.parametrize("kind", ["at", "rt"])
async def test_another_clients_token_is_refused_and_untouched(kind: str) -> None:
    store, events = Store(), list[ev.Event]()
    token = token_for(kind, THEIRS, store)
    with pytest.raises(UnauthorizedClient) as caught:
        await revoker(store, events).revoke(request(token), request_id="r")
    assert caught.value.error == "unauthorized_client"
    assert store.calls == [] and events == []


@pytest.mark.parametrize("token", ["garbage", mint("at", FAMILY), mint("rt", FAMILY), mint("code", FAMILY)])
async def test_unknown_malformed_and_code_tokens_change_nothing(token: str) -> None:
    store, events = Store(), list[ev.Event]()
    reply = await revoker(store, events).revoke(request(token), request_id="r")
    assert not reply.revoked and store.calls == [] and events == []


async def test_missing_token_and_bad_client() -> None:
    store, events = Store(), list[ev.Event]()
    with pytest.raises(InvalidRequest) as missing:
        await revoker(store, events).revoke(request(""), request_id="r")
    assert missing.value.error == "invalid_request"
    with pytest.raises(InvalidClient) as bad:
        await revoker(store, events).revoke(request(token_for("at", MINE, store), "wrong"), request_id="r")
    assert bad.value.error == "invalid_client" and store.calls == []


# ---- the sweeper ---------------------------------------------------------------------------------


class SweepStore:
    def __init__(self, due: list[str], live: dict[str, int]) -> None:
        self.queue = list(due)
        self.live = live  # family -> ms left
        self.uncounted: list[DueFamily] = []
        self.rescheduled: dict[str, float] = {}
        self.dropped_grants: list[tuple[str, str]] = []

    async def due(self, now: float, limit: int) -> list[str]:
        return [m for m in self.queue if m not in self.rescheduled][:limit]

    async def refresh_left_ms(self, families: list[str]) -> list[int]:
        return [self.live.get(f, 0) for f in families]

    async def reschedule(self, scores: dict[str, float]) -> None:
        self.rescheduled.update(scores)

    async def discard(self, members: list[str]) -> None:
        self.queue = [m for m in self.queue if m not in members]

    async def uncount(self, entries: list[DueFamily]) -> None:
        self.uncounted += entries
        self.queue = [m for m in self.queue if m not in {e.member for e in entries}]

    async def counted(self, pairs: list[tuple[str, str]]) -> list[bool]:
        return [False for _ in pairs]

    async def drop_idle_grants(self, pairs: list[tuple[str, str]], *, cutoff: int) -> None:
        self.dropped_grants += pairs


class FakeLease(Lease):
    def __init__(self, held: bool) -> None:
        self.held, self.ttl_ms, self.holder = held, 600, "me"

    async def acquire(self) -> bool:
        return self.held

    async def renew(self) -> bool:
        return self.held

    async def release(self) -> None:
        self.held = False


def sweeper(store: SweepStore, held: bool, events: list[ev.Event]) -> Sweeper:
    async def publish(event: ev.Event) -> None:
        events.append(event)

    return Sweeper(store, FakeLease(held), publish, interval=0.2, code_ttl=600, batch=2, clock=lambda: 1000.0)  # type: ignore[arg-type]


async def test_the_sweeper_uncounts_dead_families_and_reschedules_live_ones() -> None:
    members = [grant_keys.expiry_member("c", f"F{i}", f"u{i}") for i in range(5)]
    store, events = SweepStore([*members, "junk"], live={"F1": 2500}), list[ev.Event]()
    assert await sweeper(store, True, events).sweep_once() == 4
    assert [e.family for e in store.uncounted] == ["F0", "F2", "F3", "F4"]
    assert store.rescheduled == {members[1]: 1002.5}  # the millisecond its refresh token expires
    assert store.queue == [members[1]]  # "junk" dropped, the live one stays
    assert [e.family for e in events if isinstance(e, ev.GrantExpired)] == ["F0", "F2", "F3", "F4"]
    assert ("c", "u0") in store.dropped_grants


async def test_without_the_lease_the_sweeper_does_nothing() -> None:
    store, events = SweepStore([grant_keys.expiry_member("c", "F0", "u0")], live={}), list[ev.Event]()
    assert await sweeper(store, False, events).sweep_once() == 0
    assert store.uncounted == [] and events == []
