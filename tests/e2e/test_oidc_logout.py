"""RP-initiated logout through the gateway (OpenID Connect RP-Initiated Logout 1.0): the confirmation
page, the session ended, the browser sent to an exact registered post-logout redirect URI with
``state``, a signed-out user sent there at once, and an unregistered URI never redirected to."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import pytest

from tests.support.authorize_flow import Answer, Flow, fetch, flow, post_form
from tests.support.factories import csrf_of, signed_in_client
from tests.support.oidc_flow import OIDC_SCOPES
from tests.support.system import System

BYE = "https://client.example/signed-out?from=mavio"
OTHER_BYE = "https://client.example/bye"


@pytest.fixture
async def f(system: System) -> AsyncIterator[Flow]:
    async with flow(system, scopes=OIDC_SCOPES, post_logout_redirect_uris=[BYE, OTHER_BYE]) as the_flow:
        yield the_flow


def logout_url(f: Flow, **params: str) -> str:
    return f.system.url("/oauth/logout" + ("?" + urlencode(params) if params else ""))


def confirmation(answer: Answer) -> list[tuple[str, str]]:
    """The confirmation page's form fields (hidden inputs), after checking it is that page."""
    assert answer.status == 200, (answer.status, answer.location, answer.text[:300])
    assert "<h1>Sign out of Mavio?</h1>" in answer.text
    form = answer.text.split('action="/oauth/logout"', 1)[1].split("</form>", 1)[0]
    assert '<button type="submit" name="decision" value="sign_out">Sign out</button>' in form
    assert 'value="cancel" class="secondary">Cancel</button>' in form
    return re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)


async def signed_in(f: Flow) -> bool:
    async with f.http.get(f.system.url("/settings"), allow_redirects=False) as resp:
        return resp.status == 200


async def test_sign_out_ends_the_session_and_returns_to_the_registered_uri_with_state(f: Flow) -> None:
    answer = await fetch(
        f.http, logout_url(f, client_id=f.client_id, post_logout_redirect_uri=BYE, state="s-1")
    )
    fields = confirmation(answer)
    assert "Meeting Notes" in answer.text
    assert "form-action 'self' https://client.example;" in answer.headers["Content-Security-Policy"]
    done = await post_form(f.http, logout_url(f), [*fields, ("decision", "sign_out")])
    assert done.status == 303 and done.location == BYE + "&state=s-1"
    assert not await signed_in(f)


async def test_the_app_may_post_the_logout_request(f: Flow) -> None:
    form = [("client_id", f.client_id), ("post_logout_redirect_uri", OTHER_BYE), ("state", "s 2")]
    fields = confirmation(await post_form(f.http, logout_url(f), form))
    done = await post_form(f.http, logout_url(f), [*fields, ("decision", "sign_out")])
    assert done.status == 303 and done.location == OTHER_BYE + "?state=s%202"


async def test_cancel_keeps_the_session(f: Flow) -> None:
    fields = confirmation(
        await fetch(f.http, logout_url(f, client_id=f.client_id, post_logout_redirect_uri=BYE))
    )
    done = await post_form(f.http, logout_url(f), [*fields, ("decision", "cancel")])
    assert done.status == 303 and done.location == "/"
    assert await signed_in(f)


async def test_signing_out_needs_the_session_csrf_token(f: Flow) -> None:
    form = [("client_id", f.client_id), ("post_logout_redirect_uri", BYE), ("decision", "sign_out")]
    refused = await post_form(f.http, logout_url(f), form)
    assert refused.status == 403 and not refused.location
    assert await signed_in(f)


async def test_a_signed_out_user_goes_to_the_registered_uri_at_once(f: Flow) -> None:
    answer = await fetch(
        f.anonymous, logout_url(f, client_id=f.client_id, post_logout_redirect_uri=BYE, state="s")
    )
    assert answer.status == 303 and answer.location == BYE + "&state=s"


async def test_without_a_destination_the_user_lands_on_the_sign_in_page(f: Flow) -> None:
    fields = confirmation(await fetch(f.http, logout_url(f)))
    done = await post_form(f.http, logout_url(f), [*fields, ("decision", "sign_out")])
    assert done.status == 303 and done.location == "/login"
    assert not await signed_in(f)


@pytest.mark.parametrize(
    "params",
    [
        {"post_logout_redirect_uri": "https://evil.example/"},
        {"post_logout_redirect_uri": BYE},  # no client_id and no id_token_hint: whose URI?
        {"client_id": "CLIENT", "post_logout_redirect_uri": "https://evil.example/"},
        {"client_id": "CLIENT", "post_logout_redirect_uri": BYE + "&x=1"},  # not exactly registered
        {"client_id": "CLIENT", "post_logout_redirect_uri": "https://client.example/cb?tenant=acme"},
        {"client_id": "no-such-app", "post_logout_redirect_uri": BYE},
        {"id_token_hint": "not.a.token", "post_logout_redirect_uri": BYE},
    ],
)
@pytest.mark.parametrize("who", ["signed-in", "signed-out"])
async def test_an_unregistered_uri_is_never_redirected_to(f: Flow, params: dict[str, str], who: str) -> None:
    values = {k: f.client_id if v == "CLIENT" else v for k, v in params.items()}
    answer = await fetch(f.http if who == "signed-in" else f.anonymous, logout_url(f, **values))
    assert answer.status == 400 and not answer.location
    assert "invalid_request" in answer.text
    assert await signed_in(f)


# ---- the app field: JSON API and form -------------------------------------------------------


async def test_post_logout_redirect_uris_through_the_json_api(system: System) -> None:
    http, _ = await signed_in_client(system)
    api = system.url("/api/v1/oauth-apps")
    body = {
        "name": "Logout App",
        "homepage_url": "https://a.example",
        "redirect_uris": ["https://a.example/cb"],
    }
    body |= {
        "scopes": ["openid"],
        "post_logout_redirect_uris": ["https://a.example/bye", "ftp://a.example/x"],
    }
    async with http:
        async with http.post(api, json=body) as resp:
            refused = await resp.json()
        assert resp.status == 400, refused
        assert refused["fields"] == {
            "post_logout_redirect_uris": "Post-logout redirect URI 2 (ftp://a.example/x) must start with "
            "https:// or http:// (the ftp: scheme is not allowed)"
        }
        body["post_logout_redirect_uris"] = ["https://a.example/bye", "https://a.example/bye"]
        async with http.post(api, json=body) as resp:
            created = await resp.json()
        assert resp.status == 201 and created["post_logout_redirect_uris"] == ["https://a.example/bye"]
        patch = {"post_logout_redirect_uris": []}
        async with http.patch(f"{api}/{created['client_id']}", json=patch) as resp:
            assert resp.status == 200 and (await resp.json())["post_logout_redirect_uris"] == []


async def test_post_logout_redirect_uris_on_the_app_form(system: System) -> None:
    http, _ = await signed_in_client(system)
    apps = system.url("/settings/developer/oauth-apps")
    async with http:
        async with http.get(apps + "/new") as resp:
            page = await resp.text()
        assert '<label for="post_logout_redirect_uris">Post-logout redirect URIs</label>' in page
        form = {"csrf_token": csrf_of(page), "name": "Form Logout App", "homepage_url": "https://f.example"}
        form |= {"redirect_uris": "https://f.example/cb", "scopes": "openid"}
        form |= {"post_logout_redirect_uris": "https://f.example/bye\nhttps://f.example/later\n"}
        async with http.post(apps, data=form, allow_redirects=True) as resp:
            credentials = await resp.text()
        found = re.search(r"mavio_client_\w+", credentials)
        assert resp.status == 200 and found, credentials
        async with http.get(f"{apps}/{found.group(0)}") as resp:
            shown = await resp.text()
        listed = re.search(r'id="post-logout-redirect-uris">(.*?)</ul>', shown, re.S)
        assert listed, shown
        assert re.sub("<[^>]+>", "", listed.group(1)) == "https://f.example/byehttps://f.example/later"
