"""Messages of leaked-credential reports (``POST /oauth/leaked-credentials`` and the owner's form).

The gateway checks a report's signature and shape, keeps only well-formed Mavio credentials and sends
them on in chunks: tokens to revocation (``subjects.REVOCATION_LEAKED``), client secrets to the registry
(``subjects.REGISTRY_SECRET_LEAKED``), each the one writer of what it revokes. A request carries the raw
credential (like RFC 7009's request does); no reply, event or log line ever does.
"""

from __future__ import annotations

import msgspec

REPORTER_ACTOR = "leak-reporter:"  # + the reporter's key identifier: the actor of a signed report
MAX_ITEMS_PER_REQUEST = (
    100  # one bus request: 100 x (a credential, a 2 KiB url, a source) stays far below 1 MB
)


class LeakedCredential(msgspec.Struct, frozen=True, kw_only=True):
    token: str  # the raw credential (a well-formed ``mavio_at_``/``mavio_rt_``/``mavio_cs_`` string)
    token_hash: str  # SHA-256 (hex) of ``token``: what events and the audit trail carry
    url: str = ""  # where it was found
    source: str = ""  # the scanner's source (``content``, ``commit``, ...) or ``owner``


class ReportLeakedRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Act on each credential that Mavio issued and that is still live; ``client_id`` non-empty: only a
    credential of that app (the owner's form; the gateway checked the owner), others are unknown."""

    items: list[LeakedCredential]
    actor: str  # ``leak-reporter:<key id>`` or the owner's user id
    client_id: str = ""


class LeakVerdict(msgspec.Struct, frozen=True, kw_only=True):
    issued: bool  # a credential Mavio issued: live, expired or revoked (``true_positive``)
    revoked: bool = False  # it was live and this request revoked it (False on a replay)
    client_id: str = ""  # the app it belongs to, when known and revoked (the owner's page)


class ReportLeakedReply(msgspec.Struct, frozen=True, kw_only=True):
    verdicts: list[LeakVerdict]  # one per item, in order


def reporter_of(actor: str) -> str:
    """The metric's ``reporter`` label: ``scanner`` for a signed report, ``owner`` for the app page."""
    return "scanner" if actor.startswith(REPORTER_ACTOR) else "owner"
