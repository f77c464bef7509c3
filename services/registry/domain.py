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
from shared.apps.validation import AppInput
from shared.errors import NotFound
from shared.messages.registry import UpdateAppRequest
from shared.tokens import Signer, mint_client_secret

KEEP_OLD_SECRET_CHOICES = (0, 3600, 86_400)
STATS_DAYS = 30
# Compared against when the client is unknown, so an unknown client costs the same as a known one.
_NO_SIGNATURE = "0" * 64


def owned(record: AppRecord | None, user_id: str) -> AppRecord:
    """``record`` if ``user_id`` owns it; otherwise ``NotFound``, the same as a missing app."""
    if record is None or not user_id or record.owner_id != user_id:
        raise NotFound("no such app")
    return record


def merged_input(record: AppRecord, req: UpdateAppRequest) -> AppInput:
    """The app's input after a (partial) update; fields left ``None`` keep their value."""
    return AppInput(
        name=record.name if req.name is None else req.name,
        description=record.description if req.description is None else req.description,
        homepage_url=record.homepage_url if req.homepage_url is None else req.homepage_url,
        redirect_uris=list(record.redirect_uris if req.redirect_uris is None else req.redirect_uris),
        scopes=list(record.scopes if req.scopes is None else req.scopes),
    )


def name_taken(name: str, others: list[AppRecord], *, except_id: str = "") -> bool:
    """Whether another of the owner's apps already has this name (compared case-insensitively)."""
    folded = name.casefold()
    return any(o.name.casefold() == folded and o.client_id != except_id for o in others)


def new_record(
    *,
    client_id: str,
    data: AppInput,
    owner_id: str,
    owner_name: str,
    has_logo: bool,
    secret_hash: str,
    now: int,
) -> AppRecord:
    return AppRecord(
        client_id=client_id,
        name=data.name,
        description=data.description,
        homepage_url=data.homepage_url,
        redirect_uris=data.redirect_uris,
        scopes=data.scopes,
        owner_id=owner_id,
        owner_name=owner_name,
        has_logo=has_logo,
        created_at=now,
        updated_at=now,
        secret_hash=secret_hash,
    )


def updated(record: AppRecord, data: AppInput, *, has_logo: bool, now: int) -> AppRecord:
    return msgspec.structs.replace(
        record,
        name=data.name,
        description=data.description,
        homepage_url=data.homepage_url,
        redirect_uris=data.redirect_uris,
        scopes=data.scopes,
        has_logo=has_logo,
        updated_at=now,
    )


def issue_secret(signer: Signer) -> tuple[str, str]:
    """A new client secret and the signature to store; the secret itself is shown once."""
    secret = mint_client_secret()
    return secret, signer.sign(secret)


def rotated(record: AppRecord, new_hash: str, *, keep_old_seconds: int, now: int) -> AppRecord:
    """The record after a secret regeneration; the old secret stays valid ``keep_old_seconds``."""
    if keep_old_seconds not in KEEP_OLD_SECRET_CHOICES:
        raise ValueError(f"keep_old_seconds must be one of {KEEP_OLD_SECRET_CHOICES}")
    keep = keep_old_seconds > 0
    return msgspec.structs.replace(
        record,
        secret_hash=new_hash,
        previous_secret_hash=record.secret_hash if keep else "",
        previous_secret_until=now + keep_old_seconds if keep else 0,
        updated_at=now,
    )


def secret_matches(record: AppRecord | None, secret: str, signer: Signer, *, now: float) -> bool:
    """Constant-time check of ``secret`` against the current and (while valid) previous hash.

    Both comparisons always run, also for an unknown client (``record`` None).
    """
    current = record.secret_hash if record else _NO_SIGNATURE
    previous = record.previous_secret_hash if record and record.previous_secret_hash else _NO_SIGNATURE
    ok_current = signer.matches(secret, current)
    ok_previous = signer.matches(secret, previous)
    previous_live = record is not None and now < record.previous_secret_until
    return record is not None and (ok_current or (ok_previous and previous_live))


def stats_days(today: dt.date, days: int = STATS_DAYS) -> list[dt.date]:
    """The last ``days`` days ending with ``today``, oldest first."""
    return [today - dt.timedelta(days=n) for n in range(days - 1, -1, -1)]


def utc_today(now: float | None = None) -> dt.date:
    return dt.datetime.fromtimestamp(time.time() if now is None else now, dt.UTC).date()
