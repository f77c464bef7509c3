"""Settings > Connected apps through the gateway: the signed-in user's authorized apps with their
scopes and times, a CSRF-checked Revoke that ends that user x app's tokens at once (and only those)."""

from __future__ import annotations

import re

import aiohttp

from shared.grants import keys as grant_keys
from shared.registry_client import RegistryClient
from tests.support.factories import csrf_of, new_http, sign_in
from tests.support.system import System
from tests.support.token_flow import (
    Party,
    bus_verify,
    consent_code,
    exchange,
    new_party,
    refresh,
)

PAGE = "/settings/connected-apps"


async def page(system: System, http: aiohttp.ClientSession, path: str = PAGE) -> str:
    async with http.get(system.url(path), allow_redirects=False) as resp:
        assert resp.status == 200, resp.status
        assert resp.headers["Cache-Control"] == "no-store"
        return await resp.text()


async def connected(system: System, party: Party) -> tuple[Party, dict[str, str]]:
    status, _, body = await exchange(system, party, await consent_code(system, party))
    assert status == 200, body
    return party, body


async def test_the_page_needs_a_session(system: System) -> None:
    async with new_http() as http, http.get(system.url(PAGE), allow_redirects=False) as resp:
        assert resp.status == 302
        assert resp.headers["Location"].startswith("/login?next=")


async def test_lists_the_users_authorized_apps_with_scopes_and_times(system: System) -> None:
    party, _ = await connected(system, await new_party(system, name="Notetaker"))
    async with new_http() as http:
        await sign_in(system, http, party.user.email)
        html = await page(system, http)
    section = re.search(
        rf'<section class="card connected-app" id="app-{party.client_id}".*?</section>', html, re.S
    )
    assert section, html
    text = section.group(0)
    assert "Notetaker" in text
    assert '<code class="scope-name">meetings:read</code>' in text
    assert '<code class="scope-name">users:read</code>' in text
    assert "View your meetings and their details" in text
    assert re.search(r'class="authorized-at">\d{4}-\d\d-\d\d \d\d:\d\d UTC<', text)
    assert re.search(r'class="last-used">\d{4}-\d\d-\d\d \d\d:\d\d UTC<', text)  # the exchange used it
    assert f'href="{PAGE}/{party.client_id}/revoke">Revoke<' in text  # to the confirmation step


async def test_revoke_ends_that_grant_only(system: System) -> None:
    party, pair = await connected(system, await new_party(system))
    _, other_app_pair = await connected(system, await new_party(system))
    other_user = Party(party.app, party.secret, (await new_party(system)).user, party.owner)
    _, other_user_pair = await connected(system, other_user)
    second_pair = (await connected(system, party))[1]  # a second family of the same user x app
    pending = await consent_code(system, party)
    async with new_http() as http:
        await sign_in(system, http, party.user.email)
        html = await page(system, http)
        form = {"csrf_token": csrf_of(html)}
        url = system.url(f"{PAGE}/{party.client_id}/revoke")
        async with http.post(url, data=form, allow_redirects=False) as resp:
            assert resp.status == 303
            assert resp.headers["Location"] == f"{PAGE}?notice=revoked"
        after = await page(system, http, resp.headers["Location"])
    assert f'id="app-{party.client_id}"' not in after
    assert "Access revoked" in after
    for token in (pair["access_token"], second_pair["access_token"]):
        assert (await bus_verify(system, token)) == {"active": False}
    status, _, body = await refresh(system, party, pair["refresh_token"])
    assert (status, body["error"]) == (400, "invalid_grant")
    status, _, body = await exchange(system, party, pending)
    assert (status, body["error"]) == (400, "invalid_grant")
    for token in (other_app_pair["access_token"], other_user_pair["access_token"]):
        assert (await bus_verify(system, token))["active"] is True
    reply = await RegistryClient(system.bus).owned_app(party.owner.id, party.client_id)
    assert reply.stats.active_authorizations == 1  # the other user
    assert not await system.redis.hexists(grant_keys.user_grants(party.user.id), party.client_id)


async def test_revoke_needs_the_csrf_token(system: System) -> None:
    party, pair = await connected(system, await new_party(system))
    async with new_http() as http:
        await sign_in(system, http, party.user.email)
        url = system.url(f"{PAGE}/{party.client_id}/revoke")
        async with http.post(url, data={"csrf_token": "forged"}, allow_redirects=False) as resp:
            assert resp.status == 403
        async with http.post(url, data={}, allow_redirects=False) as resp:
            assert resp.status == 403
    assert (await bus_verify(system, pair["access_token"]))["active"] is True


async def test_a_user_cannot_revoke_another_users_grant(system: System) -> None:
    party, pair = await connected(system, await new_party(system))
    intruder = (await new_party(system)).user
    async with new_http() as http:
        await sign_in(system, http, intruder.email)
        html = await page(system, http)
        url = system.url(f"{PAGE}/{party.client_id}/revoke")
        async with http.post(url, data={"csrf_token": csrf_of(html)}, allow_redirects=False) as resp:
            assert resp.status == 303  # acts on the intruder's own (absent) grant only
    assert (await bus_verify(system, pair["access_token"]))["active"] is True


async def test_a_deleted_app_disappears_from_the_page(system: System) -> None:
    party, _ = await connected(system, await new_party(system))
    await RegistryClient(system.bus).delete_app(party.owner.id, party.client_id)
    async with new_http() as http:
        await sign_in(system, http, party.user.email)
        assert f'id="app-{party.client_id}"' not in await page(system, http)
