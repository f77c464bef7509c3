"""App actions through their no-JavaScript confirmation pages: regenerate the client secret (old one
invalid at once, or kept 1 / 24 hours), revoke all tokens, delete (typed name, users who lose
access), a clear failure when the revocation service does not answer, and the usage stats."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import aiohttp
import pytest

from shared.errors import InvalidClient, NotFound
from shared.grants import keys as grant_keys
from shared.messages.registry import AccountView, AppView
from shared.messages.revocation import RevokeAppRequest
from shared.registry_client import RegistryClient
from tests.support.factories import (
    RevocationStandIn,
    code_by_id,
    create_app,
    csrf_of,
    field_errors,
    signed_in_client,
    span_by_id,
)
from tests.support.system import System, start_system

APPS = "/settings/developer/oauth-apps"


@pytest.fixture(scope="module")
async def registry_only() -> AsyncIterator[System]:
    """Registry and gateway, without the revocation service: revocation is unavailable here."""
    sut = await start_system(services=("registry",))
    yield sut
    await sut.close()


@pytest.fixture
async def with_revocation(registry_only: System) -> AsyncIterator[RevocationStandIn]:
    async with RevocationStandIn(registry_only) as stand_in:
        yield stand_in


@pytest.fixture
async def dev(
    registry_only: System,
) -> AsyncIterator[tuple[aiohttp.ClientSession, AccountView, AppView, str]]:
    http, account = await signed_in_client(registry_only)
    app, secret = await create_app(registry_only, account, name="Busy App")
    yield http, account, app, secret
    await http.close()


async def get(http: aiohttp.ClientSession, system: System, path: str) -> tuple[int, str]:
    async with http.get(system.url(path), allow_redirects=False) as resp:
        return resp.status, await resp.text()


async def post(
    http: aiohttp.ClientSession, system: System, path: str, data: dict[str, str]
) -> tuple[int, str, str]:
    async with http.post(system.url(path), data=data, allow_redirects=False) as resp:
        return resp.status, await resp.text(), resp.headers.get("Location", "")


async def confirm(http: aiohttp.ClientSession, system: System, path: str, button: str) -> str:
    """Open a confirmation page; it must carry a form whose submit button has the action's label."""
    status, html = await get(http, system, path)
    assert status == 200
    assert '<button type="submit"' in html and f">{button}</button>" in html
    return csrf_of(html)


@pytest.mark.parametrize("keep", ["0", "3600", "86400"])
async def test_regenerate_secret_shows_the_new_secret_once(
    registry_only: System, dev: tuple[aiohttp.ClientSession, AccountView, AppView, str], keep: str
) -> None:
    http, _, app, old = dev
    path = f"{APPS}/{app.client_id}/secret"
    token = await confirm(http, registry_only, path, "Regenerate client secret")
    status, _, location = await post(http, registry_only, path, {"csrf_token": token, "keep_old": keep})
    assert status == 303 and location == f"{APPS}/{app.client_id}/credentials"
    status, html = await get(http, registry_only, location)
    assert status == 200
    new = code_by_id(html)["client-secret"]
    assert new.startswith("mavio_cs_") and new != old and "shown only once" in html
    registry = RegistryClient(registry_only.bus)
    await registry.verify_client(app.client_id, new)
    if keep == "0":
        with pytest.raises(InvalidClient):
            await registry.verify_client(app.client_id, old)
        assert "no longer works" in html
    else:
        await registry.verify_client(app.client_id, old)
        assert "keeps working until" in html
    _, detail = await get(http, registry_only, f"{APPS}/{app.client_id}")
    assert new not in detail and old not in detail


async def test_regenerate_refuses_an_unknown_keep_choice(
    registry_only: System, dev: tuple[aiohttp.ClientSession, AccountView, AppView, str]
) -> None:
    http, _, app, old = dev
    path = f"{APPS}/{app.client_id}/secret"
    token = await confirm(http, registry_only, path, "Regenerate client secret")
    status, _, _ = await post(http, registry_only, path, {"csrf_token": token, "keep_old": "31536000"})
    assert status == 400
    await RegistryClient(registry_only.bus).verify_client(app.client_id, old)


async def test_revoke_all_tokens_asks_the_revocation_service(
    registry_only: System,
    dev: tuple[aiohttp.ClientSession, AccountView, AppView, str],
    with_revocation: RevocationStandIn,
) -> None:
    http, _, app, _ = dev
    path = f"{APPS}/{app.client_id}/revoke"
    token = await confirm(http, registry_only, path, "Revoke all tokens")
    status, _, location = await post(http, registry_only, path, {"csrf_token": token})
    assert status == 303 and location == f"{APPS}/{app.client_id}?notice=revoked"
    assert with_revocation.calls == [
        RevokeAppRequest(client_id=app.client_id, reason="app_revoke_all", actor=app.owner_id)
    ]
    _, html = await get(http, registry_only, location)
    assert "Every token of this app was revoked" in html


async def test_revoke_all_tokens_says_it_is_pending_when_revocation_is_unavailable(
    registry_only: System, dev: tuple[aiohttp.ClientSession, AccountView, AppView, str]
) -> None:
    """Issue 22: queued durably, so 202 and "pending" (was 503 "Nothing was revoked")."""
    http, _, app, _ = dev
    path = f"{APPS}/{app.client_id}/revoke"
    token = await confirm(http, registry_only, path, "Revoke all tokens")
    status, html, _ = await post(http, registry_only, path, {"csrf_token": token})
    assert status == 202
    assert 'id="revocation-pending"' in html and "is pending" in html
    assert "revoked." not in html


async def test_delete_needs_the_typed_name_and_says_who_loses_access(
    registry_only: System,
    dev: tuple[aiohttp.ClientSession, AccountView, AppView, str],
    with_revocation: RevocationStandIn,
) -> None:
    http, _, app, secret = dev
    await registry_only.redis.hset(
        grant_keys.app_grant_users(app.client_id), mapping={"usr_a": 1, "usr_b": 2}
    )
    path = f"{APPS}/{app.client_id}/delete"
    status, html = await get(http, registry_only, path)
    assert (
        span_by_id(html) == {} and '<strong id="users-affected">2</strong>' in html and "lose access" in html
    )
    token = await confirm(http, registry_only, path, "Delete app")
    status, html, _ = await post(http, registry_only, path, {"csrf_token": token, "confirm_name": "Busy"})
    assert status == 400 and "confirm_name" in field_errors(html)
    registry = RegistryClient(registry_only.bus)
    assert (await registry.get_app(app.client_id)).name == "Busy App"
    assert with_revocation.calls == []
    status, _, location = await post(
        http, registry_only, path, {"csrf_token": token, "confirm_name": "Busy App"}
    )
    assert status == 303 and location == f"{APPS}?notice=deleted"
    assert with_revocation.calls == [
        RevokeAppRequest(client_id=app.client_id, reason="app_deleted", actor=app.owner_id)
    ]
    with pytest.raises(NotFound):
        await registry.get_app(app.client_id)
    with pytest.raises(InvalidClient):
        await registry.verify_client(app.client_id, secret)
    status, _ = await get(http, registry_only, f"{APPS}/{app.client_id}")
    assert status == 404


async def test_delete_still_deletes_and_says_revocation_is_pending_when_revocation_is_down(
    registry_only: System, dev: tuple[aiohttp.ClientSession, AccountView, AppView, str]
) -> None:
    """Issue 22: queued durably, so 202 and "pending" (was 503 "tokens were not revoked")."""
    http, _, app, _ = dev
    path = f"{APPS}/{app.client_id}/delete"
    token = await confirm(http, registry_only, path, "Delete app")
    status, html, _ = await post(http, registry_only, path, {"csrf_token": token, "confirm_name": "Busy App"})
    assert status == 202
    assert 'id="revocation-pending"' in html and "was deleted; revoking its tokens is pending" in html
    with pytest.raises(NotFound):
        await RegistryClient(registry_only.bus).get_app(app.client_id)


async def test_stats_show_active_authorizations_calls_and_a_30_day_chart(
    registry_only: System, dev: tuple[aiohttp.ClientSession, AccountView, AppView, str]
) -> None:
    http, _, app, _ = dev
    cid = app.client_id
    today = dt.datetime.now(dt.UTC).date()
    await registry_only.redis.hset(
        grant_keys.app_grant_users(cid), mapping={"usr_a": 1, "usr_b": 1, "usr_c": 4}
    )
    await registry_only.redis.set(grant_keys.app_calls_total(cid), 1234)
    await registry_only.redis.set(grant_keys.app_calls_day(cid, today.strftime("%Y%m%d")), 40)
    three_ago = today - dt.timedelta(days=3)
    await registry_only.redis.set(grant_keys.app_calls_day(cid, three_ago.strftime("%Y%m%d")), 10)
    status, html = await get(http, registry_only, f"{APPS}/{cid}")
    assert status == 200
    spans = span_by_id(html)
    assert spans["stat-active-authorizations"] == "3" and spans["stat-api-calls"] == "1234"
    assert "<svg" in html and html.count('class="bar"') == 30
    assert f'data-day="{today.isoformat()}" data-calls="40"' in html
    assert f'data-day="{three_ago.isoformat()}" data-calls="10"' in html
    assert f'data-day="{(today - dt.timedelta(days=29)).isoformat()}" data-calls="0"' in html


async def test_stats_are_zero_for_a_new_app(
    registry_only: System, dev: tuple[aiohttp.ClientSession, AccountView, AppView, str]
) -> None:
    http, _, app, _ = dev
    _, html = await get(http, registry_only, f"{APPS}/{app.client_id}")
    spans = span_by_id(html)
    assert spans["stat-active-authorizations"] == "0" and spans["stat-api-calls"] == "0"
