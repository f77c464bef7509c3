"""Messages of the authorize service (RFC 6749 §4.1.1-4.1.2): the gateway asks, the service decides.

Both operations answer with an ``Outcome`` (a tagged union, tag field ``kind``) that tells the gateway
what to do next: show the consent page, send the user to sign in, or redirect to the client. Errors
that must never reach a redirect URI (unknown client, bad ``redirect_uri``: RFC 6749 §4.1.2.1) are not
outcomes: they travel as bus errors (``invalid_client`` for the client, ``invalid_request`` for the
redirect URI) and the gateway shows its error page.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from shared.messages.registry import AppView

Decision = Literal["authorize", "deny"]


class CheckedRequest(msgspec.Struct, frozen=True, kw_only=True):
    """An authorization request that passed every check; ``redirect_uri`` is the resolved one."""

    client_id: str
    redirect_uri: str
    scopes: list[str]  # requested, catalog order
    state: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    redirect_uri_given: bool = True  # False: the request omitted it (the app's only URI is used)
    nonce: str = ""  # OpenID Connect: exactly as sent ("" = none)
    claims: str = ""  # OpenID Connect: the validated ``claims`` parameter (JSON), "" = none


class SignIn(msgspec.Struct, frozen=True, kw_only=True):
    """The signed-in session as OpenID Connect needs it: ``auth_time`` (epoch seconds of the user's last
    actual sign-in with a password) and ``sid`` (the session's random id, never its cookie)."""

    auth_time: int = 0
    sid: str = ""


class ShowConsent(msgspec.Struct, frozen=True, kw_only=True, tag="consent", tag_field="kind"):
    """Render the consent page for ``request``; ``notice`` explains why it is shown again.

    ``remembered``: requested scopes the user's live grant already covers; shown as already allowed,
    not asked again (every other requested scope is a checkbox). ``consent`` identifies this page's
    single decision: the form posts it back, nothing else of the request.
    """

    app: AppView
    request: CheckedRequest
    notice: str = ""
    remembered: list[str] = msgspec.field(default_factory=list)
    consent: str = ""


class ShowSignIn(msgspec.Struct, frozen=True, kw_only=True, tag="sign_in", tag_field="kind"):
    """The request is valid so far; the user must sign in (then come back to the same URL).

    ``redirect_uri``: the registered URI the request resolved to (where its answer goes after sign-in),
    so the sign-in page can allow exactly that destination in its CSP ``form-action``.
    """

    redirect_uri: str = ""
    login_hint: str = ""  # OpenID Connect ``login_hint``: prefills the sign-in page's email
    reauthenticate: bool = False  # signed in, but the request needs a fresh sign-in (prompt, max_age)


class RedirectTo(msgspec.Struct, frozen=True, kw_only=True, tag="redirect", tag_field="kind"):
    """Send the user agent to the client: an authorization or error response (RFC 6749 §4.1.2)."""

    location: str


class DecisionRefused(msgspec.Struct, frozen=True, kw_only=True, tag="refused", tag_field="kind"):
    """The decision is not for a consent page this session was shown and has not decided yet (replayed,
    forged, from another session, expired, or the app's grant changed since): nothing was issued."""

    reason: str


Outcome = ShowConsent | ShowSignIn | RedirectTo | DecisionRefused


class CheckAuthorizationRequest(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /oauth/authorize``: the raw query as (key, value) pairs, in order, duplicates kept."""

    query: list[tuple[str, str]]
    user_id: str = ""  # empty when nobody is signed in
    session: str = ""  # the session's consent binding: a consent page shown is bound to it
    sign_in: SignIn = msgspec.field(default_factory=SignIn)
    # The subject of the request's ``id_token_hint`` once the gateway verified its signature;
    # None: no hint; "": a hint that did not verify (it names nobody signed in here).
    hinted_user: str | None = None


class CheckAuthorizationReply(msgspec.Struct, frozen=True, kw_only=True):
    outcome: Outcome


class DecideAuthorizationRequest(msgspec.Struct, frozen=True, kw_only=True):
    """The user's decision on the consent page ``consent`` (``ShowConsent.consent``).

    The request decided is the one stored when the page was shown; the form's fields never change it.
    (A request from an older gateway, without ``consent``, is refused.)
    """

    user_id: str
    consent: str = ""
    session: str = ""
    decision: Decision
    granted: list[str]  # the scopes left ticked
    sign_in: SignIn = msgspec.field(default_factory=SignIn)


class DecideAuthorizationReply(msgspec.Struct, frozen=True, kw_only=True):
    outcome: Outcome
