"""The authorization decision, between the request checks and the store (RFC 6749 §4.1.1-4.1.2.1).

Pure functions, no I/O; the handlers call them in this order:

1. ``precheck(app, query)``: the redirect URI (never-redirect errors are raised), then every check that
   needs no user; a failure becomes a ``RedirectTo`` the client's redirect URI with the error;
2. ``check_user_plan(request, plan)`` once the user is signed in;
3. on the user's decision, ``denied(request)`` or ``granted_scopes`` then ``new_code`` and ``grant_record``.

Decisions:
- The granted scopes must be a non-empty subset of the requested ones. None ticked raises
  ``NothingGranted`` (the page is shown again, nothing is issued); a scope that was not requested is
  ``invalid_scope``.
- Remembered consent: a *live* grant (the same rule as Connected apps: the user still counts as an active
  authorization of the app, or its latest code may still be exchanged) covering every requested scope
  gets a code without a prompt, unless ``prompt`` includes ``consent`` (OpenID Connect Core §3.1.2.1).
  Otherwise the page asks only for the scopes the live grant lacks (``prompt=consent``: for all).
- The grant record (user x app) holds what the user agreed to: the scopes decided this time (asked and
  ticked, or remembered) plus the live grant's scopes that were not requested this time; an unticked
  scope is dropped. Tokens of earlier authorizations keep their own scopes in their family.
  ``last_used_at`` is carried over from the previous record.
- A code is ``shared.tokens.mint("code", family)`` with a new family: 32 random base62 characters
  (about 190 bits). Only its HMAC signature reaches the store (RFC 6749 §10.5, RFC 9700 §4.5).
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from services.authorize.checks import (
    AuthorizationRequest,
    CheckedApp,
    check_plan,
    check_request,
    code_redirect,
    error_redirect,
    resolve_redirect_uri,
    state_from,
)
from services.authorize.pages import checked_request
from services.authorize.redirects import Query, query_values
from shared.errors import AccessDenied, InvalidScope, NothingGranted, OAuthError
from shared.grants.records import CodeRecord, GrantRecord
from shared.messages.authorize import RedirectTo, ShowConsent, SignIn
from shared.messages.registry import AppView
from shared.scopes import ScopeCatalog, join_scope
from shared.tokens import Signer, mint, new_family_id

LOCKED_SCOPE = "openid"  # shown checked and disabled on the consent page
NOTHING_GRANTED = "Tick at least one permission to authorize the app, or choose Deny."
DENIED = "The user denied the authorization request"


class IssuedCode(msgspec.Struct, frozen=True, kw_only=True):
    """A new authorization code: the raw ``code`` goes to the client only, ``signature`` to the store."""

    code: str
    signature: str
    record: CodeRecord


def precheck(
    app: CheckedApp, query: Query, *, catalog: ScopeCatalog, redirect_errors: bool = True
) -> AuthorizationRequest | RedirectTo:
    """The checks that need no user (RFC 6749 §4.1.2.1 order): redirect URI first, then the rest.

    ``UnknownClient`` / ``BadRedirectUri`` propagate (never redirect). Other errors are redirected when
    ``redirect_errors``; otherwise they are raised too, for the HTML error page: RFC 9700 §4.11.2 lets
    the server redirect an error only to a URI it trusts, and we trust the (exactly registered) URI of
    a request only once a signed-in user makes it, so an anonymous link cannot bounce visitors off us
    to any self-registered app.
    """
    redirect_uri = resolve_redirect_uri(app, query)
    try:
        return check_request(app, redirect_uri, query, catalog=catalog)
    except OAuthError as exc:
        if not redirect_errors:
            raise
        return RedirectTo(location=error_redirect(redirect_uri, exc, state_from(query)))


def check_user_plan(request: AuthorizationRequest, plan: str, *, catalog: ScopeCatalog) -> RedirectTo | None:
    """``invalid_scope`` naming the scope and the plan when the user's plan lacks a requested scope."""
    try:
        check_plan(request, plan, catalog=catalog)
    except InvalidScope as exc:
        return refused(request, exc)
    return None


def refused(request: AuthorizationRequest, error: OAuthError) -> RedirectTo:
    """The error response (RFC 6749 §4.1.2.1) for a request whose redirect URI is known to be good."""
    return RedirectTo(location=error_redirect(request.redirect_uri, error, request.state))


def denied(request: AuthorizationRequest) -> RedirectTo:
    """The resource owner denied the request: ``access_denied`` (RFC 6749 §4.1.2.1)."""
    return refused(request, AccessDenied(DENIED))


def granted_scopes(
    request: AuthorizationRequest, granted: Sequence[str], *, catalog: ScopeCatalog
) -> tuple[str, ...]:
    """The scopes left ticked, in catalog order: a non-empty subset of the requested ones.

    ``openid`` cannot be unticked (OpenID Connect: it is the sign-in itself; the page shows it checked
    and disabled): when requested it is restored here, whatever the form sent."""
    requested = set(request.scopes)
    for name in granted:
        if name not in requested:
            raise InvalidScope("a granted scope was not requested")
    if LOCKED_SCOPE in requested:
        granted = [*granted, LOCKED_SCOPE]
    if not granted:
        raise NothingGranted(NOTHING_GRANTED)
    return tuple(catalog.ordered(set(granted)))


def new_code(
    request: AuthorizationRequest,
    *,
    user_id: str,
    scopes: Sequence[str],
    signer: Signer,
    now: int,
    ttl: int,
    sign_in: SignIn | None = None,
) -> IssuedCode:
    """A single-use code bound to client, redirect URI, user, granted scopes and PKCE (RFC 6749 §4.1.2),
    with what its ID token carries (OpenID Connect Core §3.1.2.1): the request's ``nonce`` and ``claims``,
    the session's ``auth_time`` and ``sid``."""
    session = sign_in or SignIn()
    family = new_family_id()
    code = mint("code", family)
    record = CodeRecord(
        family=family,
        client_id=request.client_id,
        user_id=user_id,
        redirect_uri=request.redirect_uri,
        scope=join_scope(tuple(scopes)),
        code_challenge=request.code_challenge,
        code_challenge_method=request.code_challenge_method,
        issued_at=now,
        expires_at=now + ttl,
        redirect_uri_given=request.redirect_uri_given,
        nonce=request.oidc.nonce,
        auth_time=session.auth_time,
        sid=session.sid,
        claims=request.oidc.claims,
    )
    return IssuedCode(code=code, signature=signer.sign(code), record=record)


def code_location(request: AuthorizationRequest, code: str) -> RedirectTo:
    """The authorization response (RFC 6749 §4.1.2): ``code`` and ``state``, the URI's own query kept."""
    return RedirectTo(location=code_redirect(request.redirect_uri, code, request.state))


def prompts_for_consent(query: Query) -> bool:
    """``prompt`` (space-delimited, OpenID Connect Core §3.1.2.1) asks for the consent page again."""
    return any("consent" in value.split(" ") for value in query_values(query, "prompt"))


def remembered(request: AuthorizationRequest, live_scopes: frozenset[str]) -> list[str]:
    """The requested scopes the user already granted (catalog order): not asked again."""
    return [name for name in request.scopes if name in live_scopes]


def grant_record(
    request: AuthorizationRequest,
    scopes: Sequence[str],
    *,
    now: int,
    previous: GrantRecord | None,
    kept: frozenset[str] = frozenset(),
    catalog: ScopeCatalog,
    code_family: str = "",
) -> GrantRecord:
    """The user x app grant after this authorization: the decided scopes plus the live grant's scopes
    that were not requested (``kept``), keeping the last use time; ``code_family`` is the family of the
    code this authorization issues (live until exchanged or expired: ``shared.grants.active``)."""
    unrequested = kept - set(request.scopes)
    return GrantRecord(
        client_id=request.client_id,
        scope=join_scope(tuple(catalog.ordered(set(scopes) | unrequested))),
        authorized_at=now,
        last_used_at=previous.last_used_at if previous else 0,
        code_family=code_family,
    )


def consent(
    app: AppView,
    request: AuthorizationRequest,
    notice: str = "",
    *,
    page: str = "",
    remembered: Sequence[str] = (),
) -> ShowConsent:
    """What the consent page needs: the app's public view, the checked request, the page's id, and the
    requested scopes the user's live grant already covers (shown as already allowed)."""
    return ShowConsent(
        app=app, request=checked_request(request), notice=notice, consent=page, remembered=list(remembered)
    )
