"""The grant family's storage contracts, split by artefact (fosite ``storage.go`` style).

Every contract keys artefacts by the token's family and its HMAC signature (``shared.tokens.Signer``);
no method ever receives or stores a raw code or token. Each family operation is atomic within the
family's hash slot; the index operations keep the per-app and per-user views (``shared.grants.keys``)
in step and are idempotent. ``shared.grants.store.RedisGrantStore`` implements them all on Redis; each
service types what it holds by the contracts it uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from shared.grants.records import CodeRecord, DeviceRecord, GrantRecord, OidcSession


@dataclass(frozen=True, slots=True)
class Revoked:
    """A family whose every code and token was just deleted (and tombstoned)."""

    family: str
    client_id: str  # "" when no token had been issued yet
    user_id: str
    tokens: int  # member keys deleted
    first: bool = True  # this call wrote the tombstone (False: the family was revoked already)


@dataclass(frozen=True, slots=True)
class CodeTaken:
    record: bytes  # the CodeRecord JSON; the code is gone from the store


@dataclass(frozen=True, slots=True)
class Redemption:
    """What a code exchange presents besides the code, for ``CodeStore.redeem`` to issue in the same
    step when the code's record binds to it; the pair is minted by the caller, keyed by signature."""

    client_id: str  # the authenticated client
    redirect_uri: str  # as given ("" when omitted)
    challenge: str  # S256 of the code_verifier, "" when none was given
    access_sig: str
    refresh_sig: str


@dataclass(frozen=True, slots=True)
class Issued:
    """The code was consumed and the family's first pair issued (counted in every index)."""

    scope: str
    record: bytes = field(default=b"", compare=False)  # the code's CodeRecord JSON (what the ID token needs)


@dataclass(frozen=True, slots=True)
class Reused:
    revoked: Revoked


@dataclass(frozen=True, slots=True)
class Refused:
    reason: Literal["unknown", "revoked", "wrong_client", "invalid_scope"]


@dataclass(frozen=True, slots=True)
class Rotated:
    scope: str  # the successor pair's scope (narrowed if asked)
    user_id: str
    slide: bool = True  # the family's indexes should move to the new expiry (``slide_family``)


@dataclass(frozen=True, slots=True)
class Replayed:
    sealed: bytes  # the successor pair sealed under the presented token (``services.token.replay``)
    scope: str
    user_id: str = ""


@dataclass(frozen=True, slots=True)
class ReplayRefused:
    """A replay within the window asking for another scope than the rotation issued: nothing returned,
    nothing revoked (suspicious: the caller audits it)."""

    scope: str  # the scope the rotation issued (what a replay must ask for)
    user_id: str


@dataclass(frozen=True, slots=True)
class DevicePending:
    """``authorization_pending``, or ``slow_down`` with the device code's new interval (seconds)."""

    slow_down: int = 0


@dataclass(frozen=True, slots=True)
class DeviceEnded:
    """``denied`` (once), ``expired``, or ``done`` / ``unknown`` / ``revoked`` (``invalid_grant``)."""

    reason: str


@dataclass(frozen=True, slots=True)
class FoundDevice:
    """A pending device authorization a user code names: its record and its device code's signature."""

    record: DeviceRecord
    device_sig: str


PollOutcome = DevicePending | DeviceEnded | CodeTaken | Reused | Refused


REFUSALS: dict[bytes, Refused] = {
    b"unknown": Refused("unknown"),
    b"revoked": Refused("revoked"),
    b"wrong_client": Refused("wrong_client"),
    b"invalid_scope": Refused("invalid_scope"),
}


@dataclass(frozen=True, slots=True)
class AppSnapshot:
    """An app's indexes read in one transaction: counted families, pending codes, counted users."""

    families: list[str]
    pending: list[str]  # ``keys.pending_code_member`` values
    users: list[str]


@dataclass(frozen=True, slots=True)
class Narrowed:
    """A family narrowed to a plan's scopes: ``gone`` (revoked or expired), ``empty`` (nothing left:
    revoke it), ``same`` or ``narrowed`` (with the family's new scope)."""

    outcome: Literal["gone", "empty", "same", "narrowed"]
    client_id: str = ""
    user_id: str = ""
    scope: str = ""


@dataclass(frozen=True, slots=True)
class FirstPair:
    """The first access/refresh pair of a family, as records (JSON) keyed by signature."""

    family: str
    client_id: str
    user_id: str
    scope: str
    access_sig: str
    access_record: bytes
    refresh_sig: str
    refresh_record: bytes
    oidc: bytes = b""  # the family's ``OidcSession`` JSON when its scope holds ``openid``, else ""


@dataclass(frozen=True, slots=True)
class Rotation:
    """Everything one rotation attempt needs; the successor records are built in the store."""

    family: str
    presented_sig: str
    client_id: str
    scope: str  # requested narrowing, "" for unchanged
    access_sig: str
    refresh_sig: str
    sealed: bytes  # successor pair sealed under the presented token, kept for the replay window


class CodeStore(Protocol):
    async def save_code(self, signature: str, record: CodeRecord, ttl: int) -> None:
        """Store ``record`` under the code's signature for ``ttl`` seconds, value and TTL in one write,
        never overwriting; the family is indexed in the app's pending codes first, and the code's scope
        kept for as long (``PendingCodes.code_scope``)."""
        ...

    async def consume(
        self, family: str, signature: str, *, client_id: str, now: int
    ) -> CodeTaken | Reused | Refused:
        """Take a code exactly once, and only for ``client_id``, the client it was issued to (RFC 6749
        §4.1.3): presented by another client, a code is left as it is, consumed or not, and nothing is
        revoked (``Refused("wrong_client")``). A code its client already consumed is reuse: its family
        is revoked in the same atomic step (RFC 6749 §4.1.2). ``Refused("revoked")`` for a revoked
        family, else ``"unknown"``."""
        ...

    async def redeem(
        self, family: str, signature: str, redemption: Redemption, *, now: int
    ) -> Issued | CodeTaken | Reused | Refused:
        """``consume`` for ``redemption.client_id``, and when the record binds to ``redemption`` (not
        expired, the same redirect URI, the verifier's S256 challenge or none on either side), count
        the family and issue ``redemption``'s pair in the same atomic step: ``Issued``. A record that
        does not bind is ``CodeTaken`` (consumed), for the caller to check as after ``consume``; so it
        is wherever one step cannot do it all (a Redis Cluster)."""
        ...


class DeviceStore(Protocol):
    """RFC 8628 device authorizations (``shared.grants.devices``): device and user codes by HMAC only."""

    async def start_device(
        self, device_sig: str, user_sig: str, record: DeviceRecord, *, interval: int
    ) -> bool:
        """Store a pending device authorization and its user code, each with the TTL; False (nothing
        stored) when the user code names another pending authorization."""
        ...

    async def find_device(self, user_sig: str, *, now: int) -> FoundDevice | None:
        """The pending, unexpired device authorization the user code names, or None."""
        ...

    async def decide_device(
        self, found: FoundDevice, user_sig: str, approval: CodeRecord | None, *, now: int
    ) -> str:
        """Approve (a code record under the device code's signature, indexed as a pending code first)
        or deny, once: 'ok' | 'decided' | 'expired' | 'unknown'; the user code is void afterwards."""
        ...

    async def poll_device(
        self, family: str, device_sig: str, *, client_id: str, now_ms: int, step: int
    ) -> PollOutcome:
        """One poll in one round trip: pending, slow_down (the interval raised by ``step``), denied
        (once), expired, the approval's code record (taken once), then ``done`` for any later poll."""
        ...


class PendingCodes(Protocol):
    async def pending(self, client_id: str) -> list[str]:
        """``keys.pending_code_member`` values of the app's codes that may not be exchanged yet."""
        ...

    async def forget_pending(self, client_id: str, members: list[str]) -> None: ...

    async def code_scope(self, family: str) -> str | None:
        """The scope of the family's code while it may be exchanged (None: unknown or expired)."""
        ...


class AccessTokenStore(Protocol):
    async def get_access(self, family: str, signature: str) -> bytes | None:
        """The AccessTokenRecord JSON, or None. One read: this is the verification hot path."""
        ...

    async def get_access_many(self, tokens: list[tuple[str, str]]) -> list[bytes | None]:
        """The AccessTokenRecord JSON (or None) of each ``(family, signature)``, in order: ONE coalesced
        read for the whole list (``token.verify_many``), never one round trip per token."""
        ...


class AccessTokenRevoker(Protocol):
    async def revoke_access(self, family: str, signature: str) -> bool:
        """Delete one access token (and its member entry); True when it existed."""
        ...


class RefreshTokenStore(Protocol):
    async def get_refresh(self, family: str, signature: str) -> bytes | None:
        """The RefreshTokenRecord JSON (rotated or not), or None."""
        ...

    async def rotate(
        self, rotation: Rotation, *, now: int
    ) -> Rotated | Replayed | ReplayRefused | Reused | Refused:
        """Rotate once; within the replay window return the sealed successor when the same scope is
        asked for (the requested scope narrowed from the presented token's is the one the rotation
        issued), else ``ReplayRefused``, revoking nothing; after the window, revoke the family
        (reuse). A rotated record is kept until its own expiry so late reuse is still caught."""
        ...


class OidcSessions(Protocol):
    async def oidc_session(self, family: str) -> OidcSession | None:
        """The ``OidcSession`` kept with the family at its code exchange (None: none, or gone)."""
        ...


class FamilyStore(Protocol):
    async def issue_first(self, pair: FirstPair, *, now: int) -> bool:
        """Write the family record and its first pair; False (nothing written) if the family is revoked."""
        ...

    async def issue_first_counted(self, pair: FirstPair, *, now: int) -> bool:
        """``IndexStore.add_family`` (expiring a refresh TTL from ``now``), then ``issue_first``; when
        the family was revoked meanwhile, uncount it again and return False."""
        ...

    async def revoke(self, family: str, *, now: int) -> Revoked:
        """Delete every code and token of the family and leave a tombstone (idempotent); ``first`` in
        the result says whether this call did the revoking (no tombstone was there before it)."""
        ...

    async def family_known(self, family: str) -> bool:
        """Whether the family has a record (live tokens) or a tombstone (revoked, kept until its last
        token would have expired): how a leak report tells a dead token Mavio issued from a made-up one."""
        ...


class FamilyNarrower(Protocol):
    async def narrow_family(self, family: str, allowed: frozenset[str]) -> Narrowed:
        """Keep only ``allowed`` scopes on the family and every token record of it, atomically."""
        ...


class IndexStore(Protocol):
    async def add_family(
        self, client_id: str, user_id: str, family: str, *, expires_at: int, now: int
    ) -> None:
        """Count a new family in the app's, the user's and the sweeper's indexes; stamp the grant used."""
        ...

    async def slide_family(
        self, client_id: str, user_id: str, family: str, *, expires_at: int, now: int
    ) -> None:
        """A refresh moved the family's expiry: update the indexes (never re-adding a removed family)."""
        ...

    async def remove_family(self, client_id: str, user_id: str, family: str) -> None:
        """Uncount a family (idempotent: a family is uncounted at most once)."""
        ...


class IndexReader(Protocol):
    async def app_snapshot(self, client_id: str) -> AppSnapshot: ...
    async def families_of(self, user_id: str, client_id: str) -> list[str]:
        """The user's counted families of the app."""
        ...

    async def user_families(self, user_id: str) -> list[str]: ...
    async def counted(self, user_id: str, client_ids: list[str]) -> list[bool]:
        """Whether the user still counts in each app's users index (a live family of the app)."""
        ...

    async def live_grants(self, pairs: Sequence[tuple[str, GrantRecord]], *, now: float) -> list[bool]:
        """For each (user id, grant): is it an active authorization (``shared.grants.active``)?"""
        ...

    async def drop_app(self, client_id: str) -> None:
        """A deleted app: its indexes and API-call counters go too."""
        ...


class ConsentReader(Protocol):
    async def get_grant(self, user_id: str, client_id: str) -> GrantRecord | None:
        """The user's current grant to the app, or None (an unreadable record counts as none)."""
        ...

    async def grants(self, user_id: str) -> dict[str, GrantRecord]: ...


class ConsentStore(ConsentReader, Protocol):
    async def save_grant(self, user_id: str, grant: GrantRecord) -> None:
        """Record or replace the user's grant to ``grant.client_id``."""
        ...

    async def drop_grants(self, client_id: str, user_ids: list[str]) -> None: ...
    async def narrow_grant(
        self, user_id: str, client_id: str, allowed: frozenset[str]
    ) -> tuple[Literal["none", "same", "narrowed", "empty"], str]:
        """Keep only ``allowed`` scopes on the grant; a grant left empty is deleted."""
        ...


class CallStats(Protocol):
    async def add_calls(self, counts: dict[str, int], *, day: str) -> None:
        """Add verified API calls per client id to the total and the ``day`` (YYYYMMDD) counters.

        Counts only ids of apps that exist (checked with the count, atomically: an unknown id writes
        no key) and leaves every counter it writes with a TTL."""
        ...
