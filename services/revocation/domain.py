"""Pure decisions of the revocation service (no I/O): who may revoke what (RFC 7009 §2.1), which grants
count as connected, how pending-code entries read, how long the sweeper's lease lives, and how work is
cut into bounded batches."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

from shared.errors import UnauthorizedClient

T = TypeVar("T")

BATCH = 500  # members per sweeper batch, families per revocation event
LEASE_INTERVALS = 3  # the sweeper's lease lives this many intervals: a dead holder is replaced after it
MIN_LEASE_MS = 300

NOT_YOURS = "the token was not issued to this client"


def check_owner(token_client_id: str, client_id: str) -> None:
    """RFC 7009 §2.1: a client may revoke only its own tokens; another client's is refused, untouched."""
    if token_client_id != client_id:
        raise UnauthorizedClient(NOT_YOURS, debug=f"token of {token_client_id} presented by {client_id}")


def parse_pending_member(member: str) -> tuple[str, str] | None:
    """(user id, family) of a ``grant_keys.pending_code_member``; None when malformed."""
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
