"""Consent pages: one decision per page, bound to the request as checked and to one session.

RFC 6749 §10.12 (CSRF), RFC 9700 §4.7. Pure functions, no I/O. When the service shows a consent page it
stores a ``ConsentRecord``: the request exactly as the checks read it (repeated or empty parameters were
resolved then, once), the session it was shown to, and the state of the user's grant to the app. The
form posts back only the page's random id; the decision is about the stored request, never about the
form's fields. A decision is refused (nothing issued) when the page is unknown or already decided,
belongs to another session, has expired, or when the user's grant to the app changed since the page was
shown (revoked, or authorized again from another page).
"""

from __future__ import annotations

import hmac
import secrets

import msgspec

from services.authorize.checks import AuthorizationRequest
from shared.grants.records import GrantRecord
from shared.messages.authorize import CheckedRequest
from shared.tokens import Signer

REFUSED = (
    "This consent page was already used, has expired, was opened in another session, or the app's "
    "access changed since it was shown. Nothing was authorized: start again from the app."
)


class ConsentRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A consent page shown to a user: stored at field ``sign(consent id)`` of the hash
    ``shared.keys.consent_pages(user_id)`` (``page_store``); ``expires_at`` is checked at use."""

    request: CheckedRequest
    session: str  # the session's consent binding (an HMAC of its secret): no other session may decide
    grant_authorized_at: int  # ``authorized_at`` of the user's grant to the app when shown; 0: none
    shown_at: int
    expires_at: int
    # A device consent page (RFC 8628 §3.3): the HMAC of the user code it decides; "" for the
    # authorization endpoint's pages. Neither kind of page is decided through the other's form.
    device: str = ""


class NewConsent(msgspec.Struct, frozen=True, kw_only=True):
    """A page's id (to the form only), its signature (the store's field) and its record."""

    consent: str
    signature: str
    record: ConsentRecord


def checked_request(request: AuthorizationRequest) -> CheckedRequest:
    return CheckedRequest(
        client_id=request.client_id,
        redirect_uri=request.redirect_uri,
        scopes=list(request.scopes),
        state=request.state,
        code_challenge=request.code_challenge,
        code_challenge_method=request.code_challenge_method,
        redirect_uri_given=request.redirect_uri_given,
        nonce=request.oidc.nonce,
        claims=request.oidc.claims,
    )


def new_consent(
    request: AuthorizationRequest,
    *,
    session: str,
    grant: GrantRecord | None,
    signer: Signer,
    now: int,
    ttl: int,
    device: str = "",
) -> NewConsent:
    consent = secrets.token_urlsafe(32)
    record = ConsentRecord(
        request=checked_request(request),
        session=session,
        grant_authorized_at=grant.authorized_at if grant else 0,
        shown_at=now,
        expires_at=now + ttl,
        device=device,
    )
    return NewConsent(consent=consent, signature=signer.sign(consent), record=record)


def refusal(record: ConsentRecord | None, *, session: str, grant: GrantRecord | None, now: int) -> str:
    """Why a decision on the page ``record`` may not be made (logged only); "" when it may."""
    if record is None:
        return "unknown or already decided consent page"
    if not session or not hmac.compare_digest(record.session.encode(), session.encode()):
        return "consent page of another session"
    if now >= record.expires_at:
        return "expired consent page"
    if (grant.authorized_at if grant else 0) != record.grant_authorized_at:
        return "the grant changed since the page was shown"
    return ""


def query_of(request: CheckedRequest) -> list[tuple[str, str]]:
    """The stored request as the query the checks read, to run them again at decision time."""
    values = {
        "client_id": request.client_id,
        "redirect_uri": request.redirect_uri if request.redirect_uri_given else None,
        "response_type": "code",
        "scope": " ".join(request.scopes),
        "state": request.state,
        "code_challenge": request.code_challenge,
        "code_challenge_method": request.code_challenge_method,
        "nonce": request.nonce,
        "claims": request.claims,
    }
    return [(name, value) for name, value in values.items() if value]
