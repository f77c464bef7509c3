"""``POST /oauth/leaked-credentials`` (GitHub's secret-scanning partner format) and the app page's
"Report a leaked credential", through the gateway over real NATS and Redis: a test reporter with its
own P-256 key (configured through the key file) reports live credentials, which are revoked through
their owning services; refused reports act on nothing; a replay acts once; nothing of a reported
credential reaches a log line or the reply."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shared import subjects
from shared.apps.records import AppRecord
from shared.events import read_audit
from shared.logging import configure_logging
from shared.messages import events as ev
from shared.messages.revocation import ConnectedAppsReply, ConnectedAppsRequest
from shared.tokens import mint, new_family_id
from tests.support.factories import csrf_of, new_http, sign_in
from tests.support.leak_reporter import Reporter, post_report, report_body, write_key_list
from tests.support.polling import until
from tests.support.system import System, start_system
from tests.support.token_flow import (
    Party,
    bus_verify,
    consent_code,
    exchange,
    new_party,
    one_char_off,
    refresh,
    token_request,
    tokens_for,
)
from tests.support.webhooks import Receiver, attach_webhook

URL = "https://github.com/someone/dotfiles/blob/main/.env"
KEY_ID = "mavio-test-reporter-1"


@dataclass
class Leaks:
    system: System
    reporter: Reporter
    keys: Path
    log: io.StringIO


@pytest.fixture(scope="module")
async def leaks(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Leaks]:
    reporter = Reporter(KEY_ID)
    keys = tmp_path_factory.mktemp("leak-reporters") / "keys.json"
    write_key_list(keys, reporter)
    buffer = io.StringIO()
    configure_logging(json=True, level="debug", stream=buffer, cache=False)
    system = await start_system({"MAVIO_LOG_LEVEL": "debug", "MAVIO_LEAK_REPORTER_KEYS_FILE": str(keys)})
    try:
        yield Leaks(system, reporter, keys, buffer)
    finally:
        await system.close()
        configure_logging(json=False, level="warning", cache=False)


def banner(html: str) -> str:
    """The app page's leaked-secret banner as read ("" when there is none)."""
    found = re.search(r'<p class="warning" role="alert" id="secret-leaked">(.*?)</p>', html, re.S)
    return re.sub(r"<[^>]+>", "", found.group(1)) if found else ""


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


async def signed(leaks: Leaks, body: bytes) -> tuple[int, Any]:
    return await post_report(leaks.system, body, leaks.reporter.headers(body))


async def audit(system: System, client_id: str) -> list[ev.Event]:
    return [event async for _, event in read_audit(system.nc, client_id)]


async def introspect(system: System, party: Party, token: str) -> dict[str, Any]:
    form = {"token": token, **party.post_auth()}
    status, _, body = await token_request(system, form, path="/oauth/introspect")
    assert status == 200, body
    return body


async def consented_pair(system: System, party: Party) -> dict[str, Any]:
    """A token pair through the real consent flow (so the user's Connected apps lists the app)."""
    status, _, pair = await exchange(system, party, await consent_code(system, party))
    assert status == 200, pair
    return pair


async def connected_apps(system: System, user_id: str) -> list[str]:
    req = ConnectedAppsRequest(user_id=user_id)
    reply = await system.bus.request(subjects.REVOCATION_CONNECTED_APPS, req, ConnectedAppsReply)
    return [app.client_id for app in reply.apps]


async def test_a_signed_report_revokes_what_mavio_issued_and_labels_every_item(leaks: Leaks) -> None:
    system = leaks.system
    a, b, c = [await new_party(system) for _ in range(3)]
    pair_a, pair_b = [await consented_pair(system, p) for p in (a, b)]
    pair_c = await tokens_for(system, c)
    assert await connected_apps(system, a.user.id) == [a.client_id]
    bad_checksum, garbage = one_char_off(pair_a["refresh_token"]), "password=hunter2"
    items = [
        (pair_a["access_token"], "mavio_access_token"),
        (pair_b["refresh_token"], "mavio_refresh_token"),
        (c.secret, "mavio_client_secret"),
        (bad_checksum, "mavio_refresh_token"),
        (garbage, "mavio_access_token"),
    ]
    status, reply = await signed(leaks, report_body(*items, url=URL))
    assert status == 200, reply
    labels = ["true_positive"] * 3 + ["false_positive"] * 2
    assert reply == [
        {"token_hash": sha256(token), "token_type": kind, "label": label}
        for (token, kind), label in zip(items, labels, strict=True)
    ]
    # a's whole grant (its refresh token too) and b's grant: inactive over the bus and at introspection
    for token in (pair_a["access_token"], pair_a["refresh_token"], pair_b["access_token"]):
        assert await bus_verify(system, token) == {"active": False}
    assert await introspect(system, a, pair_a["refresh_token"]) == {"active": False}
    assert await introspect(system, b, pair_b["refresh_token"]) == {"active": False}
    assert await introspect(system, b, pair_b["access_token"]) == {"active": False}
    assert await connected_apps(system, a.user.id) == []
    assert await connected_apps(system, b.user.id) == []
    # c's secret no longer authenticates (c's tokens were not reported: they stay)
    status, _, body = await refresh(system, c, pair_c["refresh_token"])
    assert (status, body["error"]) == (401, "invalid_client")
    assert (await bus_verify(system, pair_c["access_token"]))["active"] is True
    # the audit trail: each report with its actor, type, hash and url
    actor = f"leak-reporter:{KEY_ID}"
    for party, kind, token in (
        (a, "access_token", pair_a["access_token"]),
        (b, "refresh_token", pair_b["refresh_token"]),
        (c, "client_secret", c.secret),
    ):
        trail = await audit(system, party.client_id)
        leaked = [e for e in trail if isinstance(e, ev.CredentialLeaked)]
        assert [(e.actor, e.credential_type, e.token_hash, e.url) for e in leaked] == [
            (actor, kind, sha256(token), URL)
        ]
        revoked = [e for e in trail if isinstance(e, ev.TokensRevoked)]
        if kind != "client_secret":
            assert {(e.reason, e.url, e.actor) for e in revoked} == {("leaked", URL, actor)}
    # nothing of a reported credential in the reply or any log line
    text = json.dumps(reply) + leaks.log.getvalue()
    for token, _ in items[:4]:
        assert token not in text
        assert token[-20:] not in text


async def test_the_app_hears_of_its_leaked_token_and_secret_by_signed_webhooks(leaks: Leaks) -> None:
    """The app's receiver, verifying every delivery with the ``standardwebhooks`` library (unmodified),
    gets ``tokens.revoked`` (reason ``leaked``, the url) for the token's grant and ``credential.leaked``
    for the token, then for the client secret; never the credential itself."""
    system = leaks.system
    receiver = await Receiver().start()
    try:
        party = await new_party(system)
        receiver.secret = await attach_webhook(system, party.client_id, receiver.url)
        pair = await consented_pair(system, party)
        status, _ = await signed(leaks, report_body((pair["access_token"], "mavio_access_token"), url=URL))
        assert status == 200
        await until("tokens.revoked and credential.leaked", lambda: _arrived(receiver, 1, 1))
        [revoked] = receiver.of_type("tokens.revoked")
        assert revoked.payload is not None and revoked.payload["data"] == {
            "grant": f"{party.client_id}:{party.user.id}",
            "sub": party.user.id,
            "client_id": party.client_id,
            "reason": "leaked",
            "url": URL,
        }
        assert _leaked(receiver)["access_token"] == _leak_data(party, "access_token", pair["access_token"])
        if "webhook_url" in AppRecord.__struct_fields__:  # the app record keeps its webhook (issue 26, w2)
            status, _ = await signed(leaks, report_body((party.secret, "mavio_client_secret"), url=URL))
            assert status == 200
            await until("credential.leaked of the secret", lambda: _arrived(receiver, 1, 2))
            assert _leaked(receiver)["client_secret"] == _leak_data(party, "client_secret", party.secret)
        bodies = json.dumps([r.payload for r in receiver.received])
        assert pair["access_token"] not in bodies and party.secret not in bodies
    finally:
        await receiver.close()


async def _arrived(receiver: Receiver, revoked: int, leaked: int) -> bool:
    assert all(r.payload is not None for r in receiver.received), "a delivery did not verify"
    return (len(receiver.of_type("tokens.revoked")), len(receiver.of_type("credential.leaked"))) == (
        revoked,
        leaked,
    )


def _leaked(receiver: Receiver) -> dict[str, dict[str, Any]]:
    """The ``credential.leaked`` deliveries' data by credential type."""
    return {
        r.payload["data"]["credential_type"]: r.payload["data"]
        for r in receiver.of_type("credential.leaked")
        if r.payload
    }


def _leak_data(party: Party, kind: str, credential: str) -> dict[str, Any]:
    return {
        "client_id": party.client_id,
        "credential_type": kind,
        "token_hash": sha256(credential),
        "url": URL,
        "source": "content",
    }


async def test_the_app_page_says_its_secret_was_found_until_a_new_one_is_made(leaks: Leaks) -> None:
    system = leaks.system
    party = await new_party(system)
    status, reply = await signed(leaks, report_body((party.secret, "mavio_client_secret"), url=URL))
    assert (status, reply[0]["label"]) == (200, "true_positive")
    page = system.url(f"/settings/developer/oauth-apps/{party.client_id}")
    async with new_http() as http:
        await sign_in(system, http, party.owner.email)
        async with http.get(page) as resp:
            html = await resp.text()
        assert banner(html) == f"Your client secret was found in public at {URL} and revoked. Regenerate it."
        async with http.post(
            page + "/secret", data={"csrf_token": csrf_of(html), "keep_old": "0"}, allow_redirects=True
        ) as resp:
            assert resp.status == 200
        async with http.get(page) as resp:
            assert banner(await resp.text()) == ""


async def test_a_replayed_report_acts_once_and_answers_the_same_labels(leaks: Leaks) -> None:
    system = leaks.system
    party = await new_party(system)
    pair = await tokens_for(system, party)
    body = report_body(
        (pair["access_token"], "mavio_access_token"), (party.secret, "mavio_client_secret"), url=URL
    )
    first = await signed(leaks, body)
    assert first[0] == 200 and [i["label"] for i in first[1]] == ["true_positive"] * 2
    assert await signed(leaks, body) == first
    trail = await audit(system, party.client_id)
    assert len([e for e in trail if isinstance(e, ev.CredentialLeaked)]) == 2
    assert len([e for e in trail if isinstance(e, ev.TokensRevoked) and e.reason == "leaked"]) == 1


async def test_the_same_report_sent_five_times_at_once_acts_once(leaks: Leaks) -> None:
    """Concurrent identical reports: only the call that tombstones the family (or swaps the app's
    record) acts; every reply has the same labels. Events are published before a reply is sent, so
    the trail is complete once every reply is in."""
    system = leaks.system
    party = await new_party(system)
    pair = await tokens_for(system, party)
    body = report_body(
        (pair["access_token"], "mavio_access_token"), (party.secret, "mavio_client_secret"), url=URL
    )
    replies = await asyncio.gather(*(signed(leaks, body) for _ in range(5)))
    assert replies[0][0] == 200 and [i["label"] for i in replies[0][1]] == ["true_positive"] * 2
    assert all(reply == replies[0] for reply in replies)
    trail = await audit(system, party.client_id)
    leaked = [e for e in trail if isinstance(e, ev.CredentialLeaked)]
    assert sorted(e.credential_type for e in leaked) == ["access_token", "client_secret"]
    assert len([e for e in trail if isinstance(e, ev.TokensRevoked) and e.reason == "leaked"]) == 1


async def test_a_large_report_is_handled_in_chunks_and_answered_in_order(leaks: Leaks) -> None:
    """250 well-formed tokens (three bus requests to revocation) with 3 KB urls (a 900 KB body): the
    two live ones are revoked, every label is in the report's order."""
    system = leaks.system
    first, second = await new_party(system), await new_party(system)
    live = {120: (await tokens_for(system, first))["access_token"]}
    live[249] = (await tokens_for(system, second))["refresh_token"]
    tokens = [live.get(i) or mint("at", new_family_id()) for i in range(250)]
    body = json.dumps(
        [
            {"token": t, "type": "t", "url": f"https://x/{i}/" + "p" * 3000, "source": "c"}
            for i, t in enumerate(tokens)
        ]
    ).encode()
    assert 700_000 < len(body) < 1024 * 1024
    status, reply = await signed(leaks, body)
    assert status == 200, reply
    assert [r["token_hash"] for r in reply] == [sha256(t) for t in tokens]
    assert [i for i, r in enumerate(reply) if r["label"] == "true_positive"] == [120, 249]
    assert await bus_verify(system, live[120]) == {"active": False}
    status, _, refused = await refresh(system, second, live[249])
    assert (status, refused["error"]) == (400, "invalid_grant")


def _two_mib() -> bytes:
    return json.dumps([{"token": "x" * (2 * 1024 * 1024), "type": "t"}]).encode()


REFUSED = {
    "no signature": (401, "invalid_signature"),
    "another key's signature": (401, "invalid_signature"),
    "body changed after signing": (401, "invalid_signature"),
    "unknown key id": (401, "invalid_signature"),
    "2 MiB": (413, None),
    "not JSON": (400, "invalid_request"),
    "not an array": (400, "invalid_request"),
    "empty array": (400, "invalid_request"),
}


def _refused_request(case: str, leaks: Leaks, body: bytes) -> tuple[bytes, dict[str, str]]:
    """The body and headers a refused report of ``case`` is sent with."""
    bodies = {"2 MiB": _two_mib(), "not JSON": b"token=mavio", "not an array": b'{"token": "x"}'}
    sent = bodies.get(case, b"[]" if case == "empty array" else body)
    if case == "no signature":
        return sent, {}
    if case == "another key's signature":
        return sent, Reporter(KEY_ID).headers(sent)
    if case == "unknown key id":
        return sent, Reporter("never-listed").headers(sent)
    headers = leaks.reporter.headers(sent)
    return (sent + b" " if case == "body changed after signing" else sent), headers


@pytest.mark.parametrize("case", list(REFUSED))
async def test_a_refused_report_acts_on_nothing(leaks: Leaks, case: str) -> None:
    system = leaks.system
    party = await new_party(system)
    pair = await tokens_for(system, party)
    body = report_body((pair["access_token"], "mavio_access_token"), (party.secret, "mavio_client_secret"))
    sent, headers = _refused_request(case, leaks, body)
    status, reply = await post_report(system, sent, headers)
    expected_status, error = REFUSED[case]
    assert status == expected_status, reply
    if error is not None:
        assert reply["error"] == error and reply["error_description"]
    assert (await bus_verify(system, pair["access_token"]))["active"] is True
    assert (await refresh(system, party, pair["refresh_token"]))[0] == 200  # the secret still works
    assert not [e for e in await audit(system, party.client_id) if isinstance(e, ev.CredentialLeaked)]


def _rewrite_keys(leaks: Leaks, *reporters: Reporter) -> None:
    """The key file rewritten, its mtime moved on a second (file systems with coarse timestamps)."""
    write_key_list(leaks.keys, *reporters)
    stat = leaks.keys.stat()
    os.utime(leaks.keys, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


async def test_unknown_key_ids_reread_the_key_list_at_most_once_a_minute(leaks: Leaks) -> None:
    from services.gateway.keys import LEAK_REPORTERS

    runner = leaks.system._runner
    assert runner is not None
    keys = runner.app[LEAK_REPORTERS]
    assert keys is not None
    await signed(leaks, report_body(("x", "t")))  # the list is loaded
    before = keys.fetches
    stranger = Reporter("never-listed")
    body = report_body(("x", "t"))
    for _ in range(3):
        assert (await post_report(leaks.system, body, stranger.headers(body)))[0] == 401
    assert keys.fetches - before <= 1


async def test_a_key_added_to_or_deleted_from_the_file_counts_at_once(leaks: Leaks) -> None:
    """The file's mtime is checked on each report: no restart, no wait for the minute."""
    newcomer = Reporter("added-later")
    body = report_body(("x", "t"))
    _rewrite_keys(leaks, leaks.reporter, newcomer)
    try:
        assert (await post_report(leaks.system, body, newcomer.headers(body)))[0] == 200
        _rewrite_keys(leaks, leaks.reporter)
        assert (await post_report(leaks.system, body, newcomer.headers(body)))[0] == 401
        assert (await signed(leaks, body))[0] == 200
    finally:
        _rewrite_keys(leaks, leaks.reporter)


async def test_without_reporter_keys_the_endpoint_is_not_there(system: System) -> None:
    body = report_body(("x", "t"))
    status, reply = await post_report(system, body, Reporter(KEY_ID).headers(body))
    assert (status, reply["error"]) == (404, "not_found")


async def _owner_report(system: System, http: Any, client_id: str, credential: str) -> tuple[int, str]:
    """The owner's three steps: open the form, paste and continue, confirm. (status, final page)."""
    base = system.url(f"/settings/developer/oauth-apps/{client_id}/leaked")
    async with http.get(base) as resp:
        assert resp.status == 200
        csrf = csrf_of(await resp.text())
    form = {"csrf_token": csrf, "credential": credential}
    async with http.post(base + "/confirm", data=form) as resp:
        page = await resp.text()
        if resp.status != 200:
            return resp.status, page
        assert "Revoke it" in page and credential[-20:] not in page.replace(f'value="{credential}"', "")
    async with http.post(base, data=form, allow_redirects=False) as resp:
        return resp.status, resp.headers.get("Location", "") or await resp.text()


async def test_the_owners_report_revokes_and_audits_with_the_owner(leaks: Leaks) -> None:
    system = leaks.system
    party = await new_party(system)
    pair = await consented_pair(system, party)
    async with new_http() as http:
        await sign_in(system, http, party.owner.email)
        status, location = await _owner_report(system, http, party.client_id, pair["refresh_token"])
        assert (status, location.endswith("?notice=leak_revoked")) == (303, True), location
        assert await bus_verify(system, pair["access_token"]) == {"active": False}
        assert await connected_apps(system, party.user.id) == []
        status, location = await _owner_report(system, http, party.client_id, party.secret)
        assert status == 303, location
    status, _, body = await refresh(system, party, pair["refresh_token"])
    assert (status, body["error"]) == (401, "invalid_client")
    leaked = [e for e in await audit(system, party.client_id) if isinstance(e, ev.CredentialLeaked)]
    assert [(e.actor, e.credential_type, e.source) for e in leaked] == [
        (party.owner.id, "refresh_token", "owner"),
        (party.owner.id, "client_secret", "owner"),
    ]


async def test_a_credential_of_another_app_is_refused_without_saying_whether_it_exists(
    leaks: Leaks,
) -> None:
    system = leaks.system
    victim, mine = await new_party(system), await new_party(system)
    pair = await consented_pair(system, victim)
    made_up = mint("at", new_family_id())  # well-formed, checksum right, never issued
    async with new_http() as http:
        await sign_in(system, http, mine.owner.email)
        answers = []
        for credential in (pair["access_token"], victim.secret, made_up):
            status, page = await _owner_report(system, http, mine.client_id, credential)
            answers.append((status, re.findall(r'id="credential-error"[^>]*>([^<]*)<', page)))
        status, page = await _owner_report(system, http, mine.client_id, "not a credential")
        assert status == 400 and "Paste an access token" in page
    refused = (400, ["This is not a live credential of this app, so nothing was revoked."])
    assert answers == [refused, refused, refused]
    assert (await bus_verify(system, pair["access_token"]))["active"] is True
    assert (await refresh(system, victim, pair["refresh_token"]))[0] == 200
