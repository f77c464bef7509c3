"""Your App's callback refuses what the guide says to refuse: a missing or wrong ``state``, an ``iss``
naming another server (RFC 9207), and a state used twice; ``access_denied`` gets the friendly page."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import aiohttp

from tests.browser.example_servers import example_servers
from tests.support.system import System


async def start(http: aiohttp.ClientSession, url: str) -> dict[str, str]:
    async with http.post(url + "/connect", allow_redirects=False) as resp:
        assert resp.status == 303
        query = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["state"][0]) >= 32
    return {k: v[0] for k, v in query.items()}


async def test_the_callback_checks_state_and_iss(system: System) -> None:
    async with (
        example_servers(system) as ex,
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http,
    ):
        sent = await start(http, ex.url)
        async with http.get(ex.url + "/callback", params={"state": "forged", "code": "x"}) as resp:
            assert resp.status == 400 and "not ours" in await resp.text()
        sent = await start(http, ex.url)  # the failed callback used up the state: start again
        params = {"state": sent["state"], "code": "x", "iss": "https://evil.example"}
        async with http.get(ex.url + "/callback", params=params) as resp:
            assert resp.status == 400 and "not from Mavio" in await resp.text()
        sent = await start(http, ex.url)
        params = {"state": sent["state"], "error": "access_denied", "iss": system.url("")}
        async with http.get(ex.url + "/callback", params=params) as resp:
            assert resp.status == 200 and 'id="denied"' in await resp.text()
        async with http.get(ex.url + "/callback", params=params) as resp:  # the same state again
            assert resp.status == 400
