"""Client secrets minted and rotated (RFC 6749 §2.3.1, §10.1; RFC 9700 §2.5).

The registry mints a high-entropy secret, returns it in the one reply that creates or regenerates it,
and stores only its HMAC-SHA256 under the server key (``shared.tokens.Signer``); a regenerated secret
may keep the old one valid for 1 or 24 hours. Showing it once is the gateway's
(``services/gateway/developer/credentials.py``); checking a presented one is
``shared.apps.secrets.secret_matches`` (constant time, the same work for an unknown client).
"""

from __future__ import annotations

import msgspec

from shared.apps.records import AppRecord
from shared.tokens import Signer, mint_client_secret

KEEP_OLD_SECRET_CHOICES = (0, 3600, 86_400)


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
        leaked_url="",  # a new secret ends the leak banner (the leaked HMAC is kept)
        leaked_at=0,
        updated_at=now,
    )


def leaked(record: AppRecord, signature: str, *, url: str, now: int) -> AppRecord:
    """The record after its current or previous secret (``signature``) was found in public: that
    secret stops working at once, no overlap (the other one, if any, is untouched)."""
    current = record.secret_hash == signature
    return msgspec.structs.replace(
        record,
        secret_hash="" if current else record.secret_hash,
        previous_secret_hash="" if not current else record.previous_secret_hash,
        previous_secret_until=0 if not current else record.previous_secret_until,
        leaked_secret_hash=signature,
        leaked_url=url,
        leaked_at=now,
        updated_at=now,
    )
