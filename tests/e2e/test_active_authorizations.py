"""One definition of an active authorization (``shared.grants.active``), the same on the developer's
app page ("Active authorizations", stated there) and on the user's Connected apps: a user whose grant
is live, whether or not its code has been exchanged yet; a revoked grant is neither counted nor listed.
"""

from __future__ import annotations

import aiohttp

from tests.support.factories import csrf_of, new_http, sign_in, span_by_id
from tests.support.system import System
from tests.support.token_flow import Party, consent_code, exchange, new_party, token_request

CONNECTED = "/settings/connected-apps"
APPS = "/settings/developer/oauth-apps"


async def _html(system: System, http: aiohttp.ClientSession, path: str) -> str:
    async with http.get(system.url(path), allow_redirects=False) as resp:
        assert resp.status == 200, resp.status
        return await resp.text()


async def both_pages(system: System, party: Party) -> tuple[str, bool]:
    """(the app page's Active authorizations, whether the user's Connected apps lists the app)."""
    async with new_http() as owner, new_http() as user:
        await sign_in(system, owner, party.owner.email)
        await sign_in(system, user, party.user.email)
        app_page = await _html(system, owner, f"{APPS}/{party.client_id}")
        listed = f'id="app-{party.client_id}"' in await _html(system, user, CONNECTED)
    assert "whether or not the app has exchanged its code yet" in app_page  # the definition, stated
    return span_by_id(app_page)["stat-active-authorizations"], listed


async def test_authorized_but_not_exchanged_is_active_on_both_pages_until_revoked(system: System) -> None:
    party = await new_party(system, name="Pending Notes")
    assert await both_pages(system, party) == ("0", False)
    code = await consent_code(system, party)  # authorized; the app has not exchanged the code
    assert await both_pages(system, party) == ("1", True)

    async with new_http() as user:  # the user revokes it on Connected apps
        await sign_in(system, user, party.user.email)
        form = {"csrf_token": csrf_of(await _html(system, user, CONNECTED))}
        url = system.url(f"{CONNECTED}/{party.client_id}/revoke")
        async with user.post(url, data=form, allow_redirects=False) as resp:
            assert resp.status == 303
    assert await both_pages(system, party) == ("0", False)
    status, _, body = await exchange(system, party, code)
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_an_exchanged_grant_stays_active_until_the_app_revokes_its_refresh_token(
    system: System,
) -> None:
    """The app disconnecting (RFC 7009 on its refresh token) ends the authorization on both pages at
    once, even right after the user authorized (within a code lifetime)."""
    party = await new_party(system, name="Disconnecting Notes")
    status, _, pair = await exchange(system, party, await consent_code(system, party))
    assert status == 200, pair
    assert await both_pages(system, party) == ("1", True)
    form = {"token": pair["refresh_token"], "token_type_hint": "refresh_token"}
    status, _, _ = await token_request(system, form, headers=party.basic_header(), path="/oauth/revoke")
    assert status == 200
    assert await both_pages(system, party) == ("0", False)


async def test_two_users_one_pending_one_exchanged_count_two(system: System) -> None:
    party = await new_party(system, name="Two Users")
    await consent_code(system, party)
    other = Party(party.app, party.secret, (await new_party(system)).user, party.owner)
    status, _, _ = await exchange(system, other, await consent_code(system, other))
    assert status == 200
    await consent_code(system, other)  # a second authorization of a counted user: still one user
    count, listed = await both_pages(system, party)
    assert (count, listed) == ("2", True)
