"""Whether the request may use the user's sign-in as it is (OpenID Connect Core 1.0 §3.1.2.1, §3.1.2.3).

Pure functions, no I/O; the handler calls them once the request passed its checks:

- nobody signed in: ``signed_out`` — the sign-in page, or with ``prompt=none`` the error
  ``login_required`` sent to the redirect URI. That redirect is made for a signed-out visitor only when
  the request names, as a string, one of the app's registered redirect URIs (OIDC requires the answer
  without any page; an exact registered URI is one the app's developer chose, so this bounces no one
  to an address of an attacker's choosing). Otherwise the error page says ``login_required``.
- signed in: ``signed_in`` — ``None`` when the session will do; else the sign-in page again
  (``prompt=login`` or ``select_account``, a last sign-in older than ``max_age``, an ``id_token_hint``
  naming someone else), or with ``prompt=none`` ``login_required``.
"""

from __future__ import annotations

from services.authorize.checks import AuthorizationRequest, RegisteredApp, error_redirect
from services.authorize.oidc import REAUTHENTICATE
from shared.errors import LoginRequired
from shared.messages.authorize import RedirectTo, ShowSignIn, SignIn

SIGN_IN_NEEDED = "the user is not signed in"
STALE_SIGN_IN = "the user must sign in again"
OTHER_USER = "the user signed in is not the one id_token_hint names"


def signed_out(app: RegisteredApp, request: AuthorizationRequest) -> ShowSignIn | RedirectTo:
    """Nobody is signed in: sign in, or (``prompt=none``) ``login_required`` when it may be redirected."""
    if "none" not in request.oidc.prompt:
        return ShowSignIn(redirect_uri=request.redirect_uri, login_hint=request.oidc.login_hint)
    if not request.redirect_uri_given or request.redirect_uri not in app.redirect_uris:
        raise LoginRequired(SIGN_IN_NEEDED, debug="prompt=none without an exact registered redirect URI")
    return _login_required(request, SIGN_IN_NEEDED)


def signed_in(
    request: AuthorizationRequest, *, user_id: str, session: SignIn, hinted_user: str | None, now: int
) -> ShowSignIn | RedirectTo | None:
    """None when the session satisfies the request; else sign in again (or ``login_required``)."""
    why = _stale(request, user_id=user_id, session=session, hinted_user=hinted_user, now=now)
    if not why:
        return None
    if "none" in request.oidc.prompt:
        return _login_required(request, why)
    return ShowSignIn(
        redirect_uri=request.redirect_uri, login_hint=request.oidc.login_hint, reauthenticate=True
    )


def _stale(
    request: AuthorizationRequest, *, user_id: str, session: SignIn, hinted_user: str | None, now: int
) -> str:
    if hinted_user is not None and hinted_user != user_id:
        return OTHER_USER
    if request.oidc.prompt & REAUTHENTICATE:
        return STALE_SIGN_IN
    max_age = request.oidc.max_age
    if max_age is not None and now - session.auth_time > max_age:
        return STALE_SIGN_IN
    return ""


def _login_required(request: AuthorizationRequest, why: str) -> RedirectTo:
    return RedirectTo(location=error_redirect(request.redirect_uri, LoginRequired(why), request.state))
