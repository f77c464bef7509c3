"""Pure rules of developer webhooks: which audit event becomes which webhook event (one per change per
grant, i.e. user x app), the payload (Standard Webhooks shape), delivery ids, the retry schedule and
when an endpoint is disabled. No I/O."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from shared.messages import events as ev

AUTHORIZATION_REVOKED = "authorization.revoked"
AUTHORIZATION_NARROWED = "authorization.narrowed"
TOKENS_REVOKED = "tokens.revoked"
CREDENTIAL_LEAKED = "credential.leaked"
WEBHOOK_TEST = "webhook.test"

DISABLE_AFTER = 5 * 86_400  # seconds of failing every attempt before an endpoint is disabled
JITTER = 0.1  # each retry delay varies by up to this share, either way

# TokensRevoked reasons -> (webhook type, the webhook's reason). Not here, so no webhook: ``rfc7009``
# (the app's own revocation), ``app_deleted``, and expiry (GrantExpired).
_REVOKED: dict[str, tuple[str, str]] = {
    "user_revoked": (AUTHORIZATION_REVOKED, "user"),
    "operator": (AUTHORIZATION_REVOKED, "operator"),
    "plan": (AUTHORIZATION_REVOKED, "plan"),
    "app_revoke_all": (TOKENS_REVOKED, "owner"),
    "refresh_reused": (TOKENS_REVOKED, "refresh_token_reuse"),
    "code_reused": (TOKENS_REVOKED, "code_reuse"),
    "leaked": (TOKENS_REVOKED, "leaked"),
}
# Reasons that end the grant: only the event that says so (``grant_ended``, one per grant) is sent.
_GRANT_ENDS = frozenset(r for r, (kind, _) in _REVOKED.items() if kind == AUTHORIZATION_REVOKED)


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    type: str
    at: float  # epoch seconds of the change
    data: dict[str, Any]


def _grant(client_id: str, sub: str, reason: str) -> dict[str, Any]:
    """``data`` naming the grant: the user as the app knows them (``sub``, as introspection gives it)
    and the app."""
    return {"grant": f"{client_id}:{sub}", "sub": sub, "client_id": client_id, "reason": reason}


def webhook_events(event: ev.Event) -> list[WebhookEvent]:
    """The webhook events one audit event makes: one per grant it changed (none for most kinds)."""
    match event:
        case ev.TokensRevoked(reason=reason, grant_ended=False) if reason in _GRANT_ENDS:
            return []  # not the grant's end: a later batch of it, or a plan's cut of pending codes only
        case ev.TokensRevoked(reason=reason) if reason in _REVOKED:
            kind, why = _REVOKED[reason]
            users = [event.user_id] if event.user_id else list(dict.fromkeys(event.users))
            extra = {"url": event.url} if reason == "leaked" and event.url else {}
            return [WebhookEvent(kind, event.at, _grant(event.client_id, u, why) | extra) for u in users if u]
        case ev.ScopesNarrowed(removed_scopes=[]):
            return []  # the grant kept its scopes (only tokens broader than it were narrowed)
        case ev.ScopesNarrowed():
            data = _grant(event.client_id, event.user_id, "plan")
            data |= {"removed_scopes": list(event.removed_scopes), "scope": event.scope}
            return [WebhookEvent(AUTHORIZATION_NARROWED, event.at, data)]
        case ev.CredentialLeaked():
            data = {
                "client_id": event.client_id,
                "credential_type": event.credential_type,
                "token_hash": event.token_hash,
                "url": event.url,
                "source": event.source,
            }
            return [WebhookEvent(CREDENTIAL_LEAKED, event.at, data)]
    return []


def test_event(client_id: str, at: float) -> WebhookEvent:
    return WebhookEvent(WEBHOOK_TEST, at, {"client_id": client_id})


_encoder = msgspec.json.Encoder()


def rfc3339(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def payload(event: WebhookEvent) -> str:
    """The body, the same on every attempt: ``{"type", "timestamp" (RFC 3339), "data"}``."""
    return _encoder.encode({"type": event.type, "timestamp": rfc3339(event.at), "data": event.data}).decode()


def delivery_id(source: str, index: int) -> str:
    """A ``webhook-id`` derived from where the event came from (the audit record's stream sequence), so a
    record read twice makes the same deliveries, not new ones."""
    digest = hashlib.sha256(f"{source}#{index}".encode()).hexdigest()[:26]
    return f"msg_{digest}"


def retry_delay(
    schedule: tuple[float, ...], failed_attempts: int, rand: Callable[[], float] = random.random
) -> float | None:
    """Seconds before the next attempt after ``failed_attempts`` failed ones (of this round), with
    jitter; None when the schedule is spent (the delivery has failed)."""
    if failed_attempts > len(schedule) or failed_attempts < 1:
        return None
    base = schedule[failed_attempts - 1]
    return max(0.0, base * (1 + JITTER * (2 * rand() - 1)))


def should_disable(failing_since: int, now: float) -> bool:
    """An endpoint that has failed every attempt for ``DISABLE_AFTER`` is disabled."""
    return failing_since > 0 and now - failing_since >= DISABLE_AFTER
