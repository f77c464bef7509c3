"""Where a page's form answer may lead: the one place that decides a page's CSP ``form-action``.

Chromium applies ``form-action`` to every hop of the redirect chain that follows a form submission
(CSP Level 3 §6.3.1), so a page whose answer can end at the client's redirect URI must allow that
destination besides ``'self'``, and nothing else:

- the consent page: the decision's 303 goes to the client (RFC 6749 §4.1.2, §4.1.2.1);
- the sign-in page of an authorization request: its 303 goes to ``/oauth/authorize``, which answers
  302 straight to the client when the user's consent is remembered (or with an error response);
- the logout page ("Sign out of Mavio?"): **Sign out**'s 303 goes to the app's registered post-logout
  redirect URI (``routes/logout.py``, OpenID Connect RP-Initiated Logout 1.0).

A destination is allowed only once it is known to be registered: the consent page's request was
checked by the authorize service; for the sign-in page, ``authorization_redirect`` asks the same
service to check the request the page continues to (exact redirect URI match, RFC 6749 §3.1.2.3).
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import urlsplit

from aiohttp import web
from yarl import URL

from services.gateway.keys import BUS, REQUEST_ID
from shared import subjects
from shared.errors import OAuthError
from shared.messages.authorize import CheckAuthorizationReply, CheckAuthorizationRequest, ShowSignIn

AUTHORIZE_PATH: Final = "/oauth/authorize"
_SCHEME = re.compile(r"[a-z][a-z0-9+.\-]*")
_HOST_PORT = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]{1,5})?")


def redirect_source(redirect_uri: str) -> str:
    """The CSP source of a redirect URI: its origin (``https://app.example:8443``) or, for a
    private-use scheme (RFC 8252 §7.1) or an IPv6 literal host, its scheme source (``com.example.app:``);
    ``""`` when it has no usable scheme."""
    parts = urlsplit(redirect_uri)
    scheme = parts.scheme.lower()
    if not _SCHEME.fullmatch(scheme):
        return ""
    host_port = parts.netloc.rsplit("@", 1)[-1]
    if scheme in ("http", "https") and _HOST_PORT.fullmatch(host_port):
        return f"{scheme}://{host_port}"
    return f"{scheme}:"


def content_security_policy(redirect_uri: str = "", *, script: bool = False) -> str:
    """The policy of an HTML page: no script (or same-origin script files only, ``script``), styles and
    images from this origin, never framed; forms post to this origin and, when the answer may redirect
    to a registered ``redirect_uri``, to that destination only."""
    form_action = " ".join(filter(None, ("'self'", redirect_source(redirect_uri))))
    scripts = " script-src 'self';" if script else ""
    return (
        f"default-src 'none'; img-src 'self'; style-src 'self';{scripts} "
        f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    )


def allow_redirect(response: web.StreamResponse, redirect_uri: str) -> None:
    """Let this page's form answer lead to ``redirect_uri`` (already known to be registered)."""
    response.headers["Content-Security-Policy"] = content_security_policy(redirect_uri)


async def authorization_redirect(request: web.Request, path: str) -> str:
    """The registered redirect URI that the authorization request ``path`` (a path on this site) names,
    as the authorize service resolves it before sign-in; ``""`` when ``path`` is no authorization
    request or the service refuses it (unknown client, unregistered URI, any other error)."""
    target = URL(path)
    if target.path != AUTHORIZE_PATH or target.is_absolute():
        return ""
    payload = CheckAuthorizationRequest(query=list(target.query.items()))
    try:
        reply = await request.app[BUS].request(
            subjects.AUTHORIZE_CHECK, payload, CheckAuthorizationReply, request_id=request[REQUEST_ID]
        )
    except OAuthError:
        return ""
    outcome = reply.outcome
    return outcome.redirect_uri if isinstance(outcome, ShowSignIn) else ""
