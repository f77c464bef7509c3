"""The device authorization grant (RFC 8628) on a real stack: the device's requests, every token
endpoint error in order, the user's side on /device through form posts, and what reaches a pending
device authorization (revocations, plan changes, app deletion)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import msgspec
import pytest

from shared import keys, subjects
from shared.grants import keys as grant_keys
from shared.grants.records import CodeRecord
from shared.messages.revocation import (
    ConnectedAppsReply,
    ConnectedAppsRequest,
    PlanChangedReply,
    PlanChangedRequest,
    RevokeGrantReply,
    RevokeGrantRequest,
)
from shared.registry_client import RegistryClient
from shared.tokens import Signer, parse
from tests.support.device_flow import approve, decide, enter_code, poll, signed_in, start, started
from tests.support.factories import create_account, create_app
from tests.support.polling import until
from tests.support.system import System, running_system
from tests.support.token_flow import Party, bus_verify, last_char_changed, new_party, refresh

WRONG = "That code is not valid"


def error_of(answer: tuple[int, dict[str, object]]) -> tuple[int, object]:
    status, body = answer
    return status, body.get("error")


def interval_of(system: System, device_code: str) -> object:
    parsed = parse(device_code, "dc")
    assert parsed is not None
    key = grant_keys.device(parsed.family, Signer(system.settings.hmac_key).sign(device_code))
    return system.redis.hget(key, "interval")


async def test_every_rfc8628_error_in_order_then_tokens_once(system: System) -> None:
    party = await new_party(system, device_flow=True)
    body = await started(system, party, "meetings:read users:read")
    assert body["verification_uri"] == system.url("/device")
    assert body["verification_uri_complete"] == system.url(f"/device?user_code={body['user_code']}")
    assert (body["expires_in"], body["interval"]) == (900, 5)
    code = body["device_code"]
    assert error_of(await poll(system, party, code)) == (400, "authorization_pending")
    assert error_of(await poll(system, party, code)) == (400, "slow_down")  # sooner than the interval
    assert await interval_of(system, code) == b"10"  # raised by 5 s for this device code
    assert error_of(await poll(system, party, code)) == (400, "slow_down")
    assert await interval_of(system, code) == b"15"
    await approve(system, party, body["user_code"])
    status, tokens = await poll(system, party, code)
    assert status == 200 and tokens["scope"] == "meetings:read users:read", tokens
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600
    assert (await bus_verify(system, str(tokens["access_token"])))["active"] is True
    assert error_of(await poll(system, party, code)) == (400, "invalid_grant")  # tokens once
    assert error_of(await poll(system, party, code)) == (400, "invalid_grant")
    assert (await bus_verify(system, str(tokens["access_token"])))["active"] is True  # nothing revoked
    status, _, pair = await refresh(system, party, str(tokens["refresh_token"]))
    assert status == 200, pair


async def test_deny_answers_access_denied_once(system: System) -> None:
    party = await new_party(system, device_flow=True)
    body = await started(system, party)
    await approve(system, party, body["user_code"], decision="deny")
    assert error_of(await poll(system, party, body["device_code"])) == (400, "access_denied")
    assert error_of(await poll(system, party, body["device_code"])) == (400, "invalid_grant")


async def test_the_device_authorization_request_is_checked(system: System) -> None:
    off = await new_party(system)
    assert error_of(await start(system, off)) == (400, "unauthorized_client")
    party = await new_party(system, device_flow=True)
    assert error_of(await start(system, party, "webhooks:write")) == (400, "invalid_scope")
    assert error_of(await start(system, party, "")) == (400, "invalid_scope")
    wrong = Party(party.app, last_char_changed(party.secret), party.user, party.owner)
    assert error_of(await start(system, wrong)) == (401, "invalid_client")
    body = await started(system, party)
    other = await new_party(system, device_flow=True)  # another client's device code: invalid_grant
    assert error_of(await poll(system, other, body["device_code"])) == (400, "invalid_grant")
    assert error_of(await poll(system, party, body["device_code"])) == (400, "authorization_pending")
    assert error_of(await poll(system, party, "mavio_dc_nonsense")) == (400, "invalid_grant")
    assert error_of(await poll(system, off, body["device_code"])) == (400, "unauthorized_client")


async def test_the_user_code_is_accepted_in_every_format(system: System) -> None:
    party = await new_party(system, device_flow=True)
    code = (await started(system, party))["user_code"]
    bare = code.replace("-", "")
    async with await signed_in(system, party) as http:
        for typed in (
            code,
            code.lower(),
            bare,
            bare.lower(),
            f" {bare[:4]} {bare[4:]} ",
            f"{code[:2]} {code[2:]}",
        ):
            status, page = await enter_code(system, http, typed)
            assert status == 200 and "Only continue if you started signing in on a device you own" in page, (
                typed
            )
            assert code in page


async def test_a_wrong_code_says_so_without_saying_whether_it_existed(system: System) -> None:
    party = await new_party(system, device_flow=True)
    body = await started(system, party)
    await approve(system, party, body["user_code"])  # decided: refused the second time
    async with await signed_in(system, party) as http:
        answers = [
            await enter_code(system, http, typed) for typed in (body["user_code"], "BCDF-GHJK", "hello")
        ]
    for status, page in answers:
        assert status == 400 and WRONG in page
    pages = {page.split('role="alert"', 1)[1].split("</p>", 1)[0] for _, page in answers}
    assert len(pages) == 1  # the same words for a decided, an unknown and a malformed code


async def test_remembered_consent_never_skips_the_device_page(system: System) -> None:
    party = await new_party(system, device_flow=True)
    first = await started(system, party)
    await approve(system, party, first["user_code"])
    assert (await poll(system, party, first["device_code"]))[0] == 200
    second = await started(system, party)  # the grant is live and covers the scope: still asked
    async with await signed_in(system, party) as http:
        status, page = await enter_code(system, http, second["user_code"])
        assert status == 200 and "Authorize" in page and "device you own" in page
        status, _ = await decide(system, http, page, decision="maybe")  # neither: nothing decided
        assert status == 400
        status, done = await decide(system, http, page)
        assert status == 200 and "Device connected" in done
        status, again = await decide(system, http, page)  # the same page decided twice: refused
        assert status == 400 and "Nothing was decided" in again
    assert (await poll(system, party, second["device_code"]))[0] == 200


async def test_the_consent_page_shows_the_device_time_and_address(system: System) -> None:
    party = await new_party(system, device_flow=True)
    body = await started(system, party)
    async with await signed_in(system, party) as http:
        status, page = await enter_code(system, http, body["user_code"])
    assert status == 200
    assert 'id="device-address">127.0.0.1<' in page
    assert time.strftime("%Y-%m-%d", time.gmtime()) in page and " UTC<" in page
    assert party.app.name in page and "meetings:read" in page


async def test_device_pages_sign_in_first_and_prefill_without_deciding(system: System) -> None:
    party = await new_party(system, device_flow=True)
    body = await started(system, party)
    async with system.http.get(body["verification_uri_complete"], allow_redirects=False) as resp:
        assert resp.status == 302
        assert resp.headers["Location"].startswith("/login?next=/device?user_code")
    async with await signed_in(system, party) as http:
        async with http.get(body["verification_uri_complete"], allow_redirects=False) as resp:
            page = await resp.text()
            csp = resp.headers["Content-Security-Policy"]
    assert f'value="{body["user_code"]}"' in page and ">Continue<" in page and "Authorize" not in page
    assert "form-action 'self';" in csp
    assert error_of(await poll(system, party, body["device_code"])) == (400, "authorization_pending")


async def test_connected_apps_revoke_reaches_approved_devices_and_their_tokens(system: System) -> None:
    party = await new_party(system, device_flow=True)
    used, body = await started(system, party), await started(system, party)
    await approve(system, party, used["user_code"])
    status, tokens = await poll(system, party, used["device_code"])
    assert status == 200
    await approve(system, party, body["user_code"])
    request = RevokeGrantRequest(user_id=party.user.id, client_id=party.client_id)  # Connected apps
    reply = await system.bus.request(subjects.REVOCATION_REVOKE_GRANT, request, RevokeGrantReply)
    assert reply.families_revoked == 2
    assert error_of(await poll(system, party, body["device_code"])) == (400, "invalid_grant")
    assert await bus_verify(system, str(tokens["access_token"])) == {"active": False}


async def test_connected_apps_lists_a_device_grant(system: System) -> None:
    party = await new_party(system, device_flow=True)
    body = await started(system, party)
    before = int(time.time())
    await approve(system, party, body["user_code"])
    parsed = parse(body["device_code"], "dc")
    assert parsed is not None
    sig = Signer(system.settings.hmac_key).sign(body["device_code"])
    raw = await system.redis.get(grant_keys.code(parsed.family, sig))  # the approval, as a code record
    record = msgspec.json.decode(raw, type=CodeRecord)
    assert (record.user_id, record.client_id) == (party.user.id, party.client_id)
    assert record.scope == "meetings:read"
    assert before <= record.auth_time <= record.issued_at  # the session's sign-in, for an ID token
    request = ConnectedAppsRequest(user_id=party.user.id)
    listed = await system.bus.request(subjects.REVOCATION_CONNECTED_APPS, request, ConnectedAppsReply)
    assert [a.client_id for a in listed.apps] == [party.client_id]  # live before its tokens exist
    assert (await poll(system, party, body["device_code"]))[0] == 200


async def test_revoke_all_tokens_reaches_approved_devices_and_their_tokens(system: System) -> None:
    party = await new_party(system, device_flow=True)
    used, waiting, undecided = [await started(system, party) for _ in range(3)]
    await approve(system, party, used["user_code"])
    await approve(system, party, waiting["user_code"])
    status, tokens = await poll(system, party, used["device_code"])
    assert status == 200
    await RegistryClient(system.bus).revoke_app_tokens(party.owner.id, party.client_id)
    assert error_of(await poll(system, party, waiting["device_code"])) == (400, "invalid_grant")
    assert await bus_verify(system, str(tokens["access_token"])) == {"active": False}
    async with await signed_in(system, party) as http:  # one nobody decided yet is void too
        status, page = await enter_code(system, http, undecided["user_code"])
        assert status == 400 and WRONG in page
    assert error_of(await poll(system, party, undecided["device_code"])) == (400, "invalid_grant")
    reply = await RegistryClient(system.bus).owned_app(party.owner.id, party.client_id)
    assert reply.stats.active_authorizations == 0


async def test_app_deletion_ends_pending_device_authorizations(system: System) -> None:
    party = await new_party(system, device_flow=True)
    pending, approved, used = [await started(system, party) for _ in range(3)]
    await approve(system, party, used["user_code"])
    status, tokens = await poll(system, party, used["device_code"])
    assert status == 200
    await approve(system, party, approved["user_code"])
    await RegistryClient(system.bus).delete_app(party.owner.id, party.client_id)
    assert await bus_verify(system, str(tokens["access_token"])) == {"active": False}
    assert error_of(await poll(system, party, approved["device_code"])) == (401, "invalid_client")
    async with await signed_in(system, party) as http:
        status, page = await enter_code(system, http, pending["user_code"])
    assert status == 400 and WRONG in page


async def test_a_plan_downgrade_reaches_an_approved_device_authorization(system: System) -> None:
    owner = await create_account(system, name="Developer")
    app, secret = await create_app(
        system, owner, scopes=["meetings:read", "meetings:write"], device_flow=True
    )
    party = Party(app, secret, await create_account(system, plan="pro"), owner)
    both = "meetings:read meetings:write"
    used = await started(system, party, both)
    await approve(system, party, used["user_code"])
    status, tokens = await poll(system, party, used["device_code"])
    assert status == 200 and tokens["scope"] == both
    wide, narrow = await started(system, party, both), await started(system, party)
    await approve(system, party, wide["user_code"])
    await approve(system, party, narrow["user_code"])
    request = PlanChangedRequest(user_id=party.user.id, plan="free")
    await system.bus.request(subjects.REVOCATION_PLAN_CHANGED, request, PlanChangedReply)
    assert (await bus_verify(system, str(tokens["access_token"])))["scope"] == "meetings:read"  # narrowed
    assert error_of(await poll(system, party, wide["device_code"])) == (400, "invalid_grant")
    status, tokens = await poll(system, party, narrow["device_code"])
    assert status == 200 and tokens["scope"] == "meetings:read", tokens


async def test_a_scope_outside_the_users_plan_is_refused_on_the_device_page(system: System) -> None:
    owner = await create_account(system, name="Developer")
    app, secret = await create_app(
        system, owner, scopes=["meetings:read", "meetings:write"], device_flow=True
    )
    party = Party(app, secret, await create_account(system, plan="free"), owner)
    body = await started(system, party, "meetings:write")
    async with await signed_in(system, party) as http:
        status, page = await enter_code(system, http, body["user_code"])
    assert status == 400 and "plan does not include" in page
    assert error_of(await poll(system, party, body["device_code"])) == (400, "authorization_pending")


# ---- expiry and guessing: a system of their own with a short device code TTL and low guess limits ----

TTL = 2


@pytest.fixture(scope="module")
async def strict() -> AsyncIterator[System]:
    env = {
        "MAVIO_DEVICE_CODE_TTL": str(TTL),
        "MAVIO_DEVICE_GUESS_MAX": "3",
        "MAVIO_DEVICE_GUESS_ADDRESS_MAX": "8",
    }
    async with running_system(env) as sut:
        yield sut


async def test_expiry_answers_expired_token(strict: System) -> None:
    party = await new_party(strict, device_flow=True)
    asked = time.time()
    body = await started(strict, party)
    assert body["expires_in"] == TTL
    assert error_of(await poll(strict, party, body["device_code"])) == (400, "authorization_pending")

    async def past_expiry() -> bool:
        return time.time() > asked + TTL + 0.5  # the TTL and a margin

    await until("the device code's TTL and a margin passed", past_expiry, timeout=TTL + 5)
    assert error_of(await poll(strict, party, body["device_code"])) == (400, "expired_token")
    async with await signed_in(strict, party) as http:
        status, page = await enter_code(strict, http, body["user_code"])
    assert status == 400 and WRONG in page


async def test_guessing_is_throttled_per_session_and_per_address(strict: System) -> None:
    party = await new_party(strict, device_flow=True)
    address_window = keys.rate_limit("device-address", "*")  # a fresh window: other tests typed codes
    await strict.redis.delete(*[k async for k in strict.redis.scan_iter(match=address_window)] or ["-"])
    async with await signed_in(strict, party) as http:
        statuses = [(await enter_code(strict, http, "BCDF-GHJK"))[0] for _ in range(4)]
        assert statuses == [400, 400, 400, 429]
        real = await started(strict, party)
        status, page = await enter_code(strict, http, real["user_code"])  # over the limit: not looked up
        assert status == 429 and "Too many codes tried" in page
    async with await signed_in(strict, party) as http:  # a new session from the same address (5 counted)
        status, page = await enter_code(strict, http, real["user_code"])  # found: its count given back
        assert status == 200
        assert [(await enter_code(strict, http, "BCDF-GHJK"))[0] for _ in range(3)] == [400, 400, 400]
    async with await signed_in(strict, party) as http:  # a third session: the address is at its limit (8)
        assert (await enter_code(strict, http, "BCDF-GHJK"))[0] == 429


# ---- public clients (client_id alone, RFC 6749 §2.1; RFC 8628 §3.1 "as at the token endpoint") ----


async def test_a_public_client_uses_the_device_flow_with_its_client_id_alone(system: System) -> None:
    party = await new_party(system, device_flow=True, client_type="public")
    assert party.secret == "" and party.post_auth() == {"client_id": party.client_id}
    body = await started(system, party)
    assert error_of(await poll(system, party, body["device_code"])) == (400, "authorization_pending")
    await approve(system, party, body["user_code"])
    status, tokens = await poll(system, party, body["device_code"])
    assert status == 200 and tokens["scope"] == "meetings:read", tokens
    assert error_of(await poll(system, party, body["device_code"])) == (400, "invalid_grant")


async def test_client_authentication_at_the_device_endpoint_is_the_token_endpoints(system: System) -> None:
    public = await new_party(system, device_flow=True, client_type="public")
    with_secret = Party(public.app, "mavio_cs_" + "A" * 46, public.user, public.owner)
    assert error_of(await start(system, with_secret)) == (401, "invalid_client")  # a public app has none
    confidential = await new_party(system, device_flow=True)
    without_secret = Party(confidential.app, "", confidential.user, confidential.owner)
    assert error_of(await start(system, without_secret)) == (401, "invalid_client")
    body = await started(system, confidential)
    assert error_of(await poll(system, without_secret, body["device_code"])) == (401, "invalid_client")
