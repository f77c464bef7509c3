"""Every HTML page the gateway can produce sends the security headers (``services.gateway.security_headers``).

The walk starts from the router itself: every registered route is requested (signed in and signed out,
GET and, for state-changing routes, a POST without its CSRF token: the CSRF-error page), so a page added
later is checked without anyone remembering to list it here.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web

from services.gateway.security_headers import CSP
from tests.support.authorize_flow import CB
from tests.support.factories import create_app, signed_in_client
from tests.support.system import System

PLACEHOLDER = re.compile(r"\{[^}]+\}")
# Pages that must be HTML for the walk to mean anything (each seen with status 200).
KNOWN_HTML = {
    "/",
    "/login",
    "/settings/connected-apps",
    "/settings/developer/oauth-apps",
    "/settings/developer/oauth-apps/new",
    "/settings/developer/oauth-apps/{client_id}",
    "/settings/developer/oauth-apps/{client_id}/edit",
    "/oauth/authorize",
}


@dataclass
class Seen:
    route: str
    method: str
    signed_in: bool
    status: int
    headers: dict[str, str]


def check_html(seen: Seen) -> None:
    h = seen.headers
    where = (seen.method, seen.route, seen.signed_in, seen.status)
    csp = h.get("Content-Security-Policy", "")
    directives = {d.strip() for d in csp.split(";")}
    assert "default-src 'none'" in directives, where
    assert "frame-ancestors 'none'" in directives, where
    assert "base-uri 'none'" in directives, where
    assert "script-src" not in csp and "unsafe-inline" not in csp, where  # no script at all
    assert h.get("X-Content-Type-Options") == "nosniff", where
    assert h.get("X-Frame-Options") == "DENY", where
    assert h.get("Referrer-Policy") == "no-referrer", where


@pytest.fixture(scope="module")
async def walked(system: System) -> AsyncIterator[list[Seen]]:
    http, account = await signed_in_client(system)
    app, _ = await create_app(system, account, redirect_uris=[CB])
    values = {"client_id": app.client_id, "filename": "mavio.css"}
    authorize_query = f"?client_id={app.client_id}&response_type=code&scope=meetings:read&state=s"
    router: web.UrlDispatcher = system._runner.app.router  # type: ignore[union-attr]
    seen: list[Seen] = []
    async with aiohttp.ClientSession() as anonymous:
        for resource in router.resources():
            path = PLACEHOLDER.sub(
                lambda m: values.get(m.group(0)[1:-1].split(":")[0], "x"), resource.canonical
            )
            for route in resource:
                method = route.method
                if method == "HEAD":
                    continue
                url = system.url(path + (authorize_query if path == "/oauth/authorize" else ""))
                for client, signed_in in ((http, True), (anonymous, False)):
                    data = {"not_the_csrf_token": "x"} if method != "GET" else None
                    async with client.request(method, url, data=data, allow_redirects=False) as resp:
                        await resp.read()
                        seen.append(
                            Seen(resource.canonical, method, signed_in, resp.status, dict(resp.headers))
                        )
        for client, signed_in in ((http, True), (anonymous, False)):  # unrouted: the 404 page
            async with client.get(system.url("/no/such/page"), headers={"Accept": "text/html"}) as resp:
                seen.append(Seen("(404)", "GET", signed_in, resp.status, dict(resp.headers)))
    await http.close()
    yield seen


async def test_every_html_response_sends_the_security_headers(walked: list[Seen]) -> None:
    html = [s for s in walked if s.headers.get("Content-Type", "").startswith("text/html")]
    for seen in html:
        check_html(seen)
    pages = {s.route for s in html if s.method == "GET" and s.status == 200}
    assert KNOWN_HTML <= pages, KNOWN_HTML - pages


async def test_error_pages_are_covered_too(walked: list[Seen]) -> None:
    html = [s for s in walked if s.headers.get("Content-Type", "").startswith("text/html")]
    assert any(s.route == "(404)" and s.status == 404 for s in html)
    csrf_pages = [s for s in html if s.method == "POST" and s.signed_in and s.status == 403]
    assert any(s.route.startswith("/settings/connected-apps") for s in csrf_pages), csrf_pages
    assert any(s.route.startswith("/settings/developer") for s in csrf_pages), csrf_pages


async def test_every_response_is_nosniff_and_oauth_responses_send_no_referrer(walked: list[Seen]) -> None:
    for seen in walked:
        assert seen.headers.get("X-Content-Type-Options") == "nosniff", (seen.method, seen.route, seen.status)
        if seen.route.startswith("/oauth/"):
            assert seen.headers.get("Referrer-Policy") == "no-referrer", (seen.method, seen.route)


def test_the_default_policy_allows_no_script() -> None:
    assert "script-src" not in CSP and "default-src 'none'" in CSP
