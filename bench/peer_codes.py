"""Authorization codes from node-oidc-provider, for the code-exchange scenario: the authorization
request (PKCE S256) followed through the peer's headless sign-in and consent interactions until it
redirects to the client with a code; the exchange itself is what the benchmark measures."""

from __future__ import annotations

import asyncio
import secrets
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import aiohttp

from shared.pkce import s256_challenge

PEER_REDIRECT = "http://127.0.0.1:9/cb"  # registered for bench-client by the peer's server.js
PEER_CLIENT = "bench-client"
MAX_HOPS = 12


async def _one_code(base: str, scope: str) -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    query = {
        "client_id": PEER_CLIENT,
        "response_type": "code",
        "redirect_uri": PEER_REDIRECT,
        "scope": scope,
        "state": secrets.token_hex(8),
        "prompt": "consent",  # offline_access (a refresh token, as Mavio issues) needs it
        "code_challenge": s256_challenge(verifier),
        "code_challenge_method": "S256",
    }
    url = f"{base}/auth?{urlencode(query)}"
    # each code its own session and grant; cookies for an IP-address host need an unsafe jar
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        for _ in range(MAX_HOPS):
            async with http.get(url, allow_redirects=False) as resp:
                location = resp.headers.get("Location")
                if resp.status not in (302, 303) or not location:
                    raise RuntimeError(f"peer answered {resp.status} at {urlsplit(url).path}")
            url = urljoin(url, location)
            if url.startswith(PEER_REDIRECT):
                return parse_qs(urlsplit(url).query)["code"][0], verifier
    raise RuntimeError("the peer's authorization flow did not reach the redirect URI")


async def peer_codes(
    base: str, count: int, *, scope: str = "offline_access api", parallel: int = 10
) -> list[tuple[str, str]]:
    """``count`` fresh (code, code_verifier) pairs from the peer at ``base``."""
    gate = asyncio.Semaphore(parallel)

    async def guarded() -> tuple[str, str]:
        async with gate:
            return await _one_code(base, scope)

    return list(await asyncio.gather(*(guarded() for _ in range(count))))
