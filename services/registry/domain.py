"""OAuth apps: the stored record, ownership, client secrets and their rotation (pure; no I/O).

Client authentication (RFC 6749 §2.3.1): the secret is high-entropy, so the record keeps only its
HMAC-SHA256 under the server key (``shared.tokens.Signer``) and compares in constant time. The
same work is done for an unknown client as for a known one.
"""

from __future__ import annotations

import datetime as dt
import time

import msgspec

from shared.apps.records import AppRecord
from shared.apps.settings import SETTINGS_FIELDS, AppSettings, patched, settings_of
from shared.errors import NotFound
from shared.messages.registry import UpdateAppRequest

STATS_DAYS = 30


def owned(record: AppRecord | None, user_id: str) -> AppRecord:
    """``record`` if ``user_id`` owns it; otherwise ``NotFound``, the same as a missing app."""
    if record is None or not user_id or record.owner_id != user_id:
        raise NotFound("no such app")
    return record


def merged_input(record: AppRecord, req: UpdateAppRequest) -> AppSettings:
    """The app's settings after a (partial) update; fields left ``None`` keep their value."""
    return patched(settings_of(record), req)


def name_taken(name: str, others: list[AppRecord], *, except_id: str = "") -> bool:
    """Whether another of the owner's apps already has this name (compared case-insensitively)."""
    folded = name.casefold()
    return any(o.name.casefold() == folded and o.client_id != except_id for o in others)


def new_record(
    *,
    client_id: str,
    data: AppSettings,
    client_type: str,
    owner_id: str,
    owner_name: str,
    has_logo: bool,
    secret_hash: str,
    now: int,
) -> AppRecord:
    return AppRecord(
        **msgspec.structs.asdict(data),
        client_type=client_type,
        client_id=client_id,
        owner_id=owner_id,
        owner_name=owner_name,
        has_logo=has_logo,
        created_at=now,
        updated_at=now,
        secret_hash=secret_hash,
    )


def updated(record: AppRecord, data: AppSettings, *, has_logo: bool, now: int) -> AppRecord:
    return msgspec.structs.replace(record, **msgspec.structs.asdict(data), has_logo=has_logo, updated_at=now)


def stats_days(today: dt.date, days: int = STATS_DAYS) -> list[dt.date]:
    """The last ``days`` days ending with ``today``, oldest first."""
    return [today - dt.timedelta(days=n) for n in range(days - 1, -1, -1)]


def utc_today(now: float | None = None) -> dt.date:
    return dt.datetime.fromtimestamp(time.time() if now is None else now, dt.UTC).date()


AUDITED_FIELDS = SETTINGS_FIELDS


def changed_fields(before: AppRecord, after: AppRecord, *, logo_uploaded: bool) -> list[str]:
    """What an edit changed, for the audit trail (names only, never values); ``logo`` for a new or
    removed logo."""
    changed = [name for name in AUDITED_FIELDS if getattr(before, name) != getattr(after, name)]
    if logo_uploaded or before.has_logo != after.has_logo:
        changed.append("logo")
    return changed
