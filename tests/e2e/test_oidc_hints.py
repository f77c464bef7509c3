"""``id_token_hint`` through the gateway (OpenID Connect Core 1.0 §3.1.2.1; RP-Initiated Logout 1.0
§2-4), with ID tokens the token endpoint issued: at the authorization endpoint a hint naming another
user (or one Mavio did not sign) is ``login_required`` with ``prompt=none``; at ``/oauth/logout`` the
hint names the app (its ``aud``), must agree with ``client_id``, and is accepted when expired."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import aiohttp
import pytest
from joserfc import jws, jwt

from shared.sealing import Sealer
from shared.signing.keyset import current, open_private
from shared.signing.store import SigningKeyStore
from tests.support.authorize_flow import Answer, Flow, fetch, post_form
from tests.support.factories import create_account, create_app, new_http, sign_in
from tests.support.oidc import fetch_jwks
from tests.support.oidc_flow import OIDC_SCOPES, sign_in_again
from tests.support.system import System, running_system
from tests.support.token_flow import Party, approve, exchange

CB = "https://client.example/cb"
BYE = "https://client.example/bye"


@dataclass
class Hinted:
    """One app, two users; ``alice`` signed in on ``http`` with remembered consent."""

    system: System
    alice: Party
    bob: Party
    http: aiohttp.ClientSession

    def authorize_url(self, **extra: str) -> str:
        query = {"response_type": "code", "client_id": self.alice.client_id, "redirect_uri": CB}
        return self.system.url("/oauth/authorize?" + urlencode({**query, "scope": "openid email", **extra}))

    async def id_token(self, party: Party) -> str:
        """An ID token the token endpoint issued to the app for ``party``'s user."""
        async with new_http() as http:
            await sign_in(self.system, http, party.user.email)
            location = await approve(self.system, party, self.authorize_url(prompt="consent"), http=http)
        status, _, body = await exchange(
            self.system, party, dict(parse_qsl(urlsplit(location).query))["code"]
        )
        assert status == 200 and "id_token" in body, body
        return str(body["id_token"])


@asynccontextmanager
async def hinted(system: System) -> AsyncIterator[Hinted]:
    owner = await create_account(system, name="Developer")
    app, secret = await create_app(
        system, owner, redirect_uris=[CB], scopes=list(OIDC_SCOPES), post_logout_redirect_uris=[BYE]
    )
    alice, bob = await create_account(system, name="Alice"), await create_account(system, name="Bob")
    async with new_http() as http:
        await sign_in(system, http, alice.email)
        hinted = Hinted(system, Party(app, secret, alice, owner), Party(app, secret, bob, owner), http)
        await approve(system, hinted.alice, hinted.authorize_url(), http=http)  # consent remembered
        yield hinted


@pytest.fixture
async def h(system: System) -> AsyncIterator[Hinted]:
    async with hinted(system) as the_hinted:
        yield the_hinted


def redirected(answer: Answer) -> dict[str, str]:
    assert answer.status == 302 and answer.location.startswith(CB + "?"), (answer.status, answer.location)
    return dict(parse_qsl(urlsplit(answer.location).query))


async def test_prompt_none_with_a_hint_naming_another_user_is_login_required(h: Hinted) -> None:
    hint = await h.id_token(h.bob)
    got = redirected(await fetch(h.http, h.authorize_url(prompt="none", id_token_hint=hint, state="s")))
    assert got["error"] == "login_required" and got["state"] == "s"


async def test_prompt_none_with_a_hint_naming_the_signed_in_user_gets_a_code(h: Hinted) -> None:
    hint = await h.id_token(h.alice)
    got = redirected(await fetch(h.http, h.authorize_url(prompt="none", id_token_hint=hint)))
    assert got["code"].startswith("mavio_code_")


async def test_prompt_none_with_a_hint_mavio_did_not_sign_is_login_required(h: Hinted) -> None:
    hint = await h.id_token(h.alice)
    header, payload, signature = hint.split(".")
    forged = ".".join((header, payload, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")))
    got = redirected(await fetch(h.http, h.authorize_url(prompt="none", id_token_hint=forged)))
    assert got["error"] == "login_required"


def logout_url(system: System, **params: str) -> str:
    return system.url("/oauth/logout?" + urlencode(params))


async def test_logout_with_a_hint_names_the_app_without_client_id(h: Hinted) -> None:
    hint = await h.id_token(h.alice)
    page = await fetch(
        h.http, logout_url(h.system, id_token_hint=hint, post_logout_redirect_uri=BYE, state="z")
    )
    assert page.status == 200 and "Sign out of Mavio?" in page.text
    form = [("client_id", h.alice.client_id), ("post_logout_redirect_uri", BYE), ("state", "z")]
    assert all(f'name="{k}" value="{v}"' in page.text for k, v in form)
    csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]  # the session's
    done = await post_form(
        h.http, logout_url(h.system), [*form, ("csrf_token", csrf), ("decision", "sign_out")]
    )
    assert done.status == 303 and done.location == BYE + "?state=z"
    async with h.http.get(h.system.url("/settings"), allow_redirects=False) as resp:
        assert resp.status == 302  # signed out


async def test_logout_refuses_a_client_id_that_is_not_the_hint_audience(h: Hinted) -> None:
    hint = await h.id_token(h.alice)
    other, _ = await create_app(h.system, h.alice.owner, name="Other", post_logout_redirect_uris=[BYE])
    answer = await fetch(
        h.http,
        logout_url(h.system, id_token_hint=hint, client_id=other.client_id, post_logout_redirect_uri=BYE),
    )
    assert answer.status == 400 and not answer.location and "not the audience of id_token_hint" in answer.text


async def expired_id_token(h: Hinted) -> str:
    """An ID token for Alice that expired an hour ago, signed with Mavio's current RS256 key (as the
    token service signed it then)."""
    keyset = await SigningKeyStore(h.system.redis).load()
    assert keyset is not None
    record = current(keyset, "RS256")
    assert record is not None
    key = open_private(record, Sealer(h.system.settings.encryption_key))
    now = int(time.time())
    claims = {"iss": h.system.settings.public_url, "sub": h.alice.user.id, "aud": h.alice.client_id}
    claims |= {"iat": now - 7200, "exp": now - 3600, "auth_time": now - 7200}
    return jwt.encode({"alg": "RS256", "kid": record.kid}, claims, key)


async def test_logout_accepts_an_expired_hint(h: Hinted) -> None:
    hint = await expired_id_token(h)
    page = await fetch(h.http, logout_url(h.system, id_token_hint=hint, post_logout_redirect_uri=BYE))
    assert page.status == 200 and f'name="client_id" value="{h.alice.client_id}"' in page.text
    async with new_http() as anonymous:  # signed out: straight to the app
        answer = await fetch(
            anonymous, logout_url(h.system, id_token_hint=hint, post_logout_redirect_uri=BYE, state="q")
        )
    assert answer.status == 303 and answer.location == BYE + "?state=q"


async def test_logout_treats_a_hint_whose_key_left_the_jwks_as_absent() -> None:
    """A hint signed before two rotations, its key gone from the JWKS (the second rotation once every
    token it signed has expired: an injected clock), names no app: ``post_logout_redirect_uri`` then
    needs ``client_id``, and the signed-in user confirms; never a redirect the hint alone allowed.
    A system of its own: its key set is rotated behind its token service's back."""
    async with running_system() as system, hinted(system) as h:
        hint = await h.id_token(h.alice)
        kid = jws.extract_compact(hint.encode()).protected["kid"]
        store, sealer = SigningKeyStore(system.redis), Sealer(system.settings.encryption_key)
        now, ttl = int(time.time()), system.settings.id_token_lifetime
        await store.rotate(now=now, id_token_ttl=ttl, sealer=sealer)
        await store.rotate(now=now + ttl + 60, id_token_ttl=ttl, sealer=sealer)
        assert kid not in {k["kid"] for k in (await fetch_jwks(system))["keys"]}

        alone_url = logout_url(system, id_token_hint=hint, post_logout_redirect_uri=BYE)
        alone = await fetch(h.http, alone_url)
        assert alone.status == 400 and not alone.location and "needs client_id" in alone.text
        asked = logout_url(
            system, id_token_hint=hint, client_id=h.alice.client_id, post_logout_redirect_uri=BYE, state="k"
        )
        page = await fetch(h.http, asked)  # as without a hint: the confirmation page
        assert page.status == 200 and "Sign out of Mavio?" in page.text
        form = [("client_id", h.alice.client_id), ("post_logout_redirect_uri", BYE), ("state", "k")]
        assert all(f'name="{k}" value="{v}"' in page.text for k, v in form)
        csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]  # the session's
        done = await post_form(
            h.http, logout_url(system), [*form, ("csrf_token", csrf), ("decision", "sign_out")]
        )
        assert done.status == 303 and done.location == BYE + "?state=k"
        async with new_http() as anonymous:  # signed out: the hint alone names no destination
            gone = await fetch(anonymous, alone_url)
        assert gone.status == 400 and not gone.location


async def test_a_hint_naming_another_user_asks_to_sign_in_then_goes_on(h: Hinted) -> None:
    hint = await h.id_token(h.bob)
    answer = await fetch(h.http, h.authorize_url(id_token_hint=hint))
    assert answer.status == 302 and answer.location.startswith("/login?next="), answer.location
    assert "reauth=1" in answer.location and "id_token_hint" not in unquote(answer.location)
    flow = Flow(h.system, h.alice.owner, h.alice.app, h.alice.user, h.http, h.http)
    got = redirected(await sign_in_again(flow, answer.location))  # Alice again: no loop
    assert got["code"].startswith("mavio_code_")
