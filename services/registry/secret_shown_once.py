"""Rule: a client secret is shown once (RFC 6749 §2.3.1, §10.1; RFC 9700 §2.5).

The registry mints a high-entropy secret, returns it in the one reply that creates or regenerates it
(the gateway shows it once, then never again), and stores only its HMAC-SHA256 under the server key
(``shared.tokens.Signer``). Checks compare in constant time, doing the same work for an unknown client as
for a known one; a regenerated secret may keep the old one valid for 1 or 24 hours.
"""

from __future__ import annotations

import msgspec

from shared.apps.records import AppRecord
from shared.tokens import Signer, mint_client_secret

KEEP_OLD_SECRET_CHOICES = (0, 3600, 86_400)
# Compared against when the client is unknown, so an unknown client costs the same as a known one.
_NO_SIGNATURE = "0" * 64


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
