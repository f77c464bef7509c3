"""Checking a presented client secret against an app record's HMACs (RFC 6749 §2.3.1; pure, no I/O).

The registry mints secrets and stores only their HMAC (``services/registry/client_secrets.py``); this
is the check every authenticating process shares. It compares in constant time and does the
same work for an unknown client as for a known one.
"""

from __future__ import annotations

from shared.apps.records import AppRecord
from shared.apps.settings import PUBLIC
from shared.tokens import Signer, same_signature

# Compared against when the client is unknown, so an unknown client costs the same as a known one.
NO_SIGNATURE = "0" * 64


def secret_matches(record: AppRecord | None, secret: str, signer: Signer, *, now: float) -> bool:
    """Constant-time check of ``secret`` against the current and (while valid) previous hash.

    Both comparisons always run, also for an unknown client (``record`` None).
    """
    current = record.secret_hash if record and record.secret_hash else NO_SIGNATURE
    previous = record.previous_secret_hash if record and record.previous_secret_hash else NO_SIGNATURE
    signed = signer.sign(secret)  # signed once, compared with both
    ok_current = same_signature(signed, current)
    ok_previous = same_signature(signed, previous)
    previous_live = record is not None and now < record.previous_secret_until
    return record is not None and (ok_current or (ok_previous and previous_live))


def client_authenticated(record: AppRecord | None, secret: str, signer: Signer, *, now: float) -> bool:
    """Client authentication as at the token endpoint (RFC 6749 §2.3.1, §3.2.1), for every endpoint
    that authenticates clients: a confidential app by one of its live secrets; a public app (§2.1,
    ``token_endpoint_auth_method`` ``none``) by its ``client_id`` alone. A public app that presents a
    secret fails, and so does a confidential app that presents none. The secret comparisons always run.
    """
    matched = secret_matches(record, secret, signer, now=now)
    if record is not None and record.client_type == PUBLIC:
        return not secret
    return bool(secret) and matched
