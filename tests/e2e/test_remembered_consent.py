"""Remembered consent through the gateway, NATS and Redis: a live grant covering every requested scope
gets a code without a prompt; ``prompt=consent`` prompts; new scopes prompt for those only; a revoked
or lapsed grant prompts again; Connected apps shows what was granted and when."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import msgspec
import pytest

from shared.grants import keys as grant_keys
from shared.grants.records import GrantRecord
from tests.support.authorize_flow import CB, Answer, Flow, flow
from tests.support.factories import csrf_of
from tests.support.system import System


@pytest.fixture
async def f(system: System) -> AsyncIterator[Flow]:
    async with flow(system) as the_flow:
        yield the_flow


def code_in(answer: Answer, status: int = 303) -> str:
    assert answer.status == status, (answer.status, answer.location, answer.text[:300])
    assert answer.location.startswith(CB + "&code=mavio_code_"), answer.location
    return answer.redirect_params()["code"]


async def record_of(f: Flow, code: str) -> str:
    [scope] = [
        r.scope for key, _, r in await f.codes() if key == grant_keys.code(r.family, f.signature(code))
    ]
    return scope


async def test_the_same_request_again_gets_a_code_without_a_prompt(f: Flow) -> None:
    code_in(await f.decide(await f.consent()))
    before = await f.grant()
    answer = await f.get(state="st-2")
    code = code_in(answer, status=302)
    assert answer.redirect_params()["state"] == "st-2"
    assert await record_of(f, code) == "meetings:read transcripts:read"
    after = await f.grant()
    assert before is not None and after is not None and after.scope == before.scope
    assert len(await f.codes()) == 2


async def test_fewer_scopes_than_granted_need_no_prompt_and_keep_the_grant(f: Flow) -> None:
    code_in(await f.decide(await f.consent()))
    code = code_in(await f.get(scope="transcripts:read"), status=302)
    assert await record_of(f, code) == "transcripts:read"
    grant = await f.grant()
    assert grant is not None and grant.scope == "meetings:read transcripts:read"


async def test_prompt_consent_always_prompts(f: Flow) -> None:
    code_in(await f.decide(await f.consent()))
    page = await f.consent(prompt="consent")
    assert page.checkboxes == [("meetings:read", True), ("transcripts:read", True)]


async def test_a_new_scope_prompts_for_that_scope_only(f: Flow) -> None:
    code_in(await f.decide(await f.consent(scope="meetings:read")))
    page = await f.consent()
    assert page.checkboxes == [("transcripts:read", True)]
    remembered = re.search(r'id="remembered-scopes">(.*?)</ul>', page.answer.text, re.S)
    assert remembered and '<code class="scope-name">meetings:read</code>' in remembered.group(1)
    code = code_in(await f.decide(page))
    assert await record_of(f, code) == "meetings:read transcripts:read"
    grant = await f.grant()
    assert grant is not None and grant.scope == "meetings:read transcripts:read"
    code_in(await f.get(state="st-3"), status=302)  # now every scope is remembered


async def test_unticking_the_new_scope_issues_the_remembered_ones_only(f: Flow) -> None:
    code_in(await f.decide(await f.consent(scope="meetings:read")))
    page = await f.consent()
    code = code_in(await f.decide(page, granted=["meetings:read"]))
    assert await record_of(f, code) == "meetings:read"
    grant = await f.grant()
    assert grant is not None and grant.scope == "meetings:read"
    assert (await f.consent()).checkboxes == [("transcripts:read", True)]


async def test_a_lapsed_grant_prompts_again(f: Flow) -> None:
    # Authorized long ago, never exchanged (or every token expired): not live, so not remembered.
    lapsed = GrantRecord(client_id=f.client_id, scope="meetings:read transcripts:read", authorized_at=1000)
    await f.system.redis.hset(grant_keys.user_grants(f.user.id), f.client_id, msgspec.json.encode(lapsed))
    page = await f.consent()
    assert page.checkboxes == [("meetings:read", True), ("transcripts:read", True)]


async def test_after_revoking_on_connected_apps_the_app_must_ask_again(f: Flow) -> None:
    code_in(await f.decide(await f.consent()))
    async with f.http.get(f.system.url("/settings/connected-apps")) as resp:
        html = await resp.text()
    path = f"/settings/connected-apps/{f.client_id}/revoke"
    async with f.http.post(
        f.system.url(path), data={"csrf_token": csrf_of(html)}, allow_redirects=False
    ) as resp:
        assert resp.status == 303
    page = await f.consent()
    assert page.checkboxes == [("meetings:read", True), ("transcripts:read", True)]


async def test_connected_apps_shows_what_was_granted_and_when(f: Flow) -> None:
    code_in(await f.decide(await f.consent(scope="meetings:read")))
    code_in(await f.decide(await f.consent()))
    async with f.http.get(f.system.url("/settings/connected-apps")) as resp:
        html = await resp.text()
    section = re.search(rf'id="app-{f.client_id}".*?</section>', html, re.S)
    assert section, html
    text = section.group(0)
    assert "View your meetings and their details" in text and "Read your meeting transcripts" in text
    assert re.search(r'class="authorized-at">\d{4}-\d\d-\d\d \d\d:\d\d UTC<', text)
