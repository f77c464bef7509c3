"""Security headers on every response, set in one place (``on_response_prepare``) so no page can forget.

- every response: ``X-Content-Type-Options: nosniff``;
- every HTML response: a strict ``Content-Security-Policy`` (no script at all, styles and images from
  this origin only, forms post to this origin, never framed: ``frame-ancestors 'none'``, OWASP
  clickjacking defence), ``X-Frame-Options: DENY`` for older browsers, ``Referrer-Policy: no-referrer``;
  a page whose form answer may lead to the client (the consent page, the sign-in page of an
  authorization request) sets its own policy through ``form_action``, which is kept only if it is as
  strict in everything else;
- everything under ``/oauth/`` (pages and redirects carrying codes): ``Referrer-Policy: no-referrer``
  (RFC 9700 §4.2.4).
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from services.gateway.form_action import content_security_policy

CSP: Final = content_security_policy()  # ``form_action`` decides every page's ``form-action``
# What a page's own policy must contain to be kept.
REQUIRED_DIRECTIVES: Final = ("default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'")


def strict_enough(policy: str) -> bool:
    directives = {d.strip() for d in policy.split(";")}
    return all(d in directives for d in REQUIRED_DIRECTIVES) and "unsafe-inline" not in policy


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.content_type == "text/html":
        if not strict_enough(headers.get("Content-Security-Policy", "")):
            headers["Content-Security-Policy"] = CSP
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "no-referrer"
    elif request.path.startswith("/oauth/"):
        headers.setdefault("Referrer-Policy", "no-referrer")
