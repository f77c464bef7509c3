"""Helpers for the device authorization grant's tests (RFC 8628): the device's requests, and the user's
side on ``/device`` driven through HTTP form posts as a browser sends them."""

from __future__ import annotations

import html
import re
from typing import Any

import aiohttp

from tests.support.factories import csrf_of, new_http, sign_in
from tests.support.system import System
from tests.support.token_flow import Party, token_request

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_TOKEN_FIELD = re.compile(r'<input type="hidden" name="consent_token" value="([^"]*)">')


async def start(system: System, party: Party, scope: str = "meetings:read") -> tuple[int, dict[str, Any]]:
    """POST /oauth/device_authorization as the party's confidential client: (status, JSON body)."""
    form = {"scope": scope, **party.post_auth()}
    status, _, body = await token_request(system, form, path="/oauth/device_authorization")
    return status, body


async def started(system: System, party: Party, scope: str = "meetings:read") -> dict[str, Any]:
    status, body = await start(system, party, scope)
    assert status == 200, body
    return body


async def poll(system: System, party: Party, device_code: str) -> tuple[int, dict[str, Any]]:
    form = {"grant_type": DEVICE_GRANT, "device_code": device_code, **party.post_auth()}
    status, _, body = await token_request(system, form)
    return status, body


async def signed_in(system: System, party: Party) -> aiohttp.ClientSession:
    """A browser-like client signed in as the party's user (close it when done)."""
    http = new_http()
    await sign_in(system, http, party.user.email)
    return http


async def enter_code(system: System, http: aiohttp.ClientSession, user_code: str) -> tuple[int, str]:
    """Open /device, type ``user_code``, press Continue: (status, the page)."""
    async with http.get(system.url("/device"), allow_redirects=False) as resp:
        assert resp.status == 200, resp.status
        form = {"csrf_token": csrf_of(await resp.text()), "user_code": user_code}
    async with http.post(system.url("/device"), data=form, allow_redirects=False) as resp:
        return resp.status, await resp.text()


def consent_token(page: str) -> str:
    found = _TOKEN_FIELD.search(page)
    assert found, f"no device consent page: {page[:400]}"
    return html.unescape(found.group(1))


async def decide(
    system: System, http: aiohttp.ClientSession, page: str, decision: str = "authorize"
) -> tuple[int, str]:
    form = {"consent_token": consent_token(page), "decision": decision}
    async with http.post(system.url("/device/decide"), data=form, allow_redirects=False) as resp:
        return resp.status, await resp.text()


async def approve(system: System, party: Party, user_code: str, decision: str = "authorize") -> None:
    """The party's user signs in, enters ``user_code``, and decides."""
    async with await signed_in(system, party) as http:
        status, page = await enter_code(system, http, user_code)
        assert status == 200, page[:400]
        status, done = await decide(system, http, page, decision)
        assert status == 200, done[:400]
