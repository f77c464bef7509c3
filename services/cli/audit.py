"""``mavio-oauth apps audit CLIENT_ID``: an app's audit trail from the JetStream stream, oldest first.

One line per event: time (ISO 8601, UTC), event kind, ``actor=`` (who caused it: a user id, ``system``,
``billing``, ``operator`` or ``client``), then ``user=`` and ``family=`` (``-`` when the event concerns
neither; several families are comma-separated) and, where the event has one, a detail (``reason=`` of a
revocation, ``scope=`` after narrowing or of a refresh replay, with ``suspicious  requested=`` when the replay
asked for another scope, ``presented_by=`` of a reused code, ``keep_old_until=`` of a secret rotation,
``fields=`` of an edit, with ``webhook=`` set/changed/removed/secret_regenerated, ``removed=`` scopes of a
narrowing, ``type= sha256= url=`` of a leaked credential, ``url=`` of a leak's revocation).
Never a secret: events carry none. A record that is not an event is skipped, and named on stderr.
"""

from __future__ import annotations

import datetime as dt
import sys

from services.cli.connect import connect_bus
from shared.config import Settings
from shared.errors import InvalidRequest
from shared.events import read_audit
from shared.messages import events as ev
from shared.tokens import is_client_id


def iso_utc(at: float) -> str:
    stamp = dt.datetime.fromtimestamp(at, dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def _concerns(event: ev.Event) -> tuple[str, str, str]:
    """(user, families, detail) of an event."""
    match event:
        case ev.TokensRevoked():
            url = f"  url={event.url}" if event.url else ""
            return event.user_id, ",".join(event.families), f"reason={event.reason}{url}"
        case ev.CredentialLeaked():
            detail = f"type={event.credential_type}  sha256={event.token_hash}  url={event.url or '-'}"
            return "", "", detail
        case ev.ScopesNarrowed():
            detail = f"scope={event.scope.replace(' ', ',')}"
            if event.removed_scopes:
                detail += f"  removed={','.join(event.removed_scopes)}"
            return event.user_id, ",".join(event.families), detail
        case ev.RefreshReplayed():
            detail = f"scope={_scope(event.scope)}"
            if event.suspicious:
                detail += f"  suspicious  requested={_scope(event.requested)}"
            return event.user_id, event.family, detail
        case ev.CodeReused():
            presented = f"presented_by={event.presenting_client}" if event.presenting_client else ""
            return event.user_id, event.family, presented
        case ev.RefreshReused() | ev.GrantExpired():
            return event.user_id, event.family, ""
        case ev.AppChanged():
            details = [f"fields={','.join(event.fields)}"] if event.fields else []
            details += [f"webhook={event.webhook}"] if event.webhook else []
            return "", "", "  ".join(details)
        case ev.SecretRegenerated():
            return "", "", f"keep_old_until={event.keep_old_until}" if event.keep_old_until else ""
        case ev.PlanChanged():
            return event.user_id, "", f"plan={event.previous_plan}->{event.plan}"
    return "", "", ""


def _scope(scope: str) -> str:
    """A requested scope as a line shows it: comma-separated, ``-`` for none (the token's own)."""
    return scope.replace(" ", ",") or "-"


def audit_line(event: ev.Event) -> str:
    kind = type(event).__struct_config__.tag
    user, families, detail = _concerns(event)
    actor = event.actor or "-"
    line = f"{iso_utc(event.at)}  {kind}  actor={actor}  user={user or '-'}  family={families or '-'}"
    return f"{line}  {detail}" if detail else line


async def audit_trail(settings: Settings, client_id: str) -> str:
    """The app's audit lines, oldest first ("" when it has none)."""
    if not is_client_id(client_id):
        raise InvalidRequest(f"not a client id: {client_id[:64]}")
    nc = await connect_bus(settings)
    try:
        skipped: list[int] = []
        lines = [audit_line(event) async for _, event in read_audit(nc, client_id, skipped=skipped)]
        if skipped:
            numbers = ", ".join(str(seq) for seq in skipped)
            print(
                f"mavio-oauth: skipped {len(skipped)} unreadable audit record(s): stream seq {numbers}",
                file=sys.stderr,
            )
        return "\n".join(lines)
    finally:
        await nc.close()
