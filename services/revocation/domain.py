"""Pure decisions of the revocation service (no I/O): who may revoke what (RFC 7009 §2.1), how a plan
narrows a scope, which grants count as connected, how the sweeper reads its work list and times its
lease, and how work is cut into bounded batches."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from shared import keys
from shared.errors import UnauthorizedClient
from shared.records import GrantRecord

T = TypeVar("T")

BATCH = 500  # members per sweeper batch, families per revocation event
LEASE_INTERVALS = 3  # the sweeper's lease lives this many intervals: a dead holder is replaced after it
MIN_LEASE_MS = 300

NOT_YOURS = "the token was not issued to this client"


def check_owner(token_client_id: str, client_id: str) -> None:
    """RFC 7009 §2.1: a client may revoke only its own tokens; another client's is refused, untouched."""
    if token_client_id != client_id:
        raise UnauthorizedClient(NOT_YOURS, debug=f"token of {token_client_id} presented by {client_id}")


def narrow_scope(scope: str, allowed: frozenset[str]) -> str:
    """``scope`` without what ``allowed`` lacks, order kept (a plan never widens a grant)."""
    return " ".join(s for s in scope.split() if s in allowed)


def is_connected(grant: GrantRecord, *, counted: bool, now: float, code_ttl: int) -> bool:
    """A grant is listed while the user has a live family of the app, or while a code from its latest
    authorization may still be exchanged (authorized less than a code lifetime ago)."""
    return counted or grant.authorized_at > now - code_ttl


@dataclass(frozen=True, slots=True)
class DueFamily:
    """One entry of the sweeper's work list (``keys.expiry_member``)."""

    member: str
    client_id: str
    family: str
    user_id: str


def parse_expiry_member(member: str) -> DueFamily | None:
    parts = member.split(" ")
    if len(parts) != 3 or not all(parts):
        return None
    client_id, family, user_id = parts
    if keys.expiry_member(client_id, family, user_id) != member:
        return None
    return DueFamily(member, client_id, family, user_id)


def parse_pending_member(member: str) -> tuple[str, str] | None:
    """(user id, family) of a ``keys.pending_code_member``; None when malformed."""
    user_id, sep, family = member.partition(" ")
    if not sep or not user_id or not family or " " in family:
        return None
    return user_id, family


def lease_ttl_ms(interval: float) -> int:
    """The sweeper lease: a small multiple of the sweep interval."""
    return max(MIN_LEASE_MS, int(interval * LEASE_INTERVALS * 1000))


def chunks(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def unique(items: Iterable[T]) -> list[T]:
    """``items`` without repeats, first occurrence kept."""
    return list(dict.fromkeys(items))
