"""Rendering helpers: HTML through Jinja2 (autoescaped), JSON, content negotiation."""

from __future__ import annotations

import re
from typing import Any

import jinja2
from aiohttp import web
from markupsafe import Markup, escape

from services.gateway.keys import TEMPLATES

# Where a long value (a URI, a client ID) may break across lines: after a run of these characters.
_BREAK_AFTER = re.compile(r"([/._?&=#-]+)")


def breakable(value: object) -> Markup:
    """``value`` escaped, with a line-break opportunity (``<wbr>``) after each ``/ . _ ? & = # -`` run,
    so a long URI or ID breaks at those points, never mid-word (``<wbr>`` adds no character when
    copied)."""
    pieces = _BREAK_AFTER.split(str(value))  # text, separators, text, ...: a <wbr> after each run
    return Markup("").join(
        escape(piece) + (Markup("<wbr>") if i % 2 else Markup("")) for i, piece in enumerate(pieces)
    )


def make_templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("services.gateway", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        enable_async=False,
    )
    env.filters["breakable"] = breakable
    return env


def render(
    request: web.Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> web.Response:
    env = request.app[TEMPLATES]
    from services.gateway.sessions import SESSION

    session = request.get(SESSION)
    ctx = {"request": request, "user": session, "csrf_token": session.csrf if session else ""}
    ctx.update(context or {})
    html = env.get_template(template).render(ctx)
    resp = web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


_JSON_PATHS = (
    "/api/",
    "/oauth/token",
    "/oauth/introspect",
    "/oauth/revoke",
    "/oauth/userinfo",
    "/oauth/jwks",
    "/oauth/device_authorization",
    "/oauth/leaked-credentials",
    "/.well-known/",
)


def wants_json(request: web.Request) -> bool:
    if request.path.startswith(_JSON_PATHS):
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def json_response(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    from shared.bus import encode

    return web.Response(body=encode(data), status=status, content_type="application/json", headers=headers)
