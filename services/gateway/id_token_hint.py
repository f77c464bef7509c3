"""``id_token_hint`` (OpenID Connect Core 1.0 §3.1.2.1; RP-Initiated Logout 1.0 §2, §4).

An ID token Mavio issued earlier, sent back by the app as a hint about the user. Only its signature is
checked, against Mavio's signing keys (the keys the JWKS publishes); an expired token is accepted, as
both specifications allow. A hint that does not verify names nobody.
"""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

from services.gateway.keys import REDIS, SETTINGS
from shared.id_token_check import verify_ignoring_expiry

MAX_HINT_LENGTH = 8192


class Hint(msgspec.Struct, frozen=True, kw_only=True):
    """The claims of a verified hint the gateway uses: ``sub`` (the user) and ``aud`` (the app)."""

    sub: str
    aud: tuple[str, ...]
    sid: str = ""


async def verified_hint(request: web.Request, token: str) -> Hint | None:
    """The hint's subject and audience when Mavio signed it (expired or not); None otherwise."""
    if not token or len(token) > MAX_HINT_LENGTH:
        return None
    settings = request.app[SETTINGS]
    claims = await verify_ignoring_expiry(request.app[REDIS], settings, token)
    if claims is None:
        return None
    return _hint(claims, issuer=settings.public_url)


def _hint(claims: dict[str, Any], *, issuer: str) -> Hint | None:
    sub, aud, sid = claims.get("sub"), claims.get("aud"), claims.get("sid", "")
    if claims.get("iss") != issuer or not isinstance(sub, str) or not sub:
        return None
    audiences = (aud,) if isinstance(aud, str) else tuple(a for a in aud or () if isinstance(a, str))
    return Hint(sub=sub, aud=audiences, sid=sid if isinstance(sid, str) else "")
