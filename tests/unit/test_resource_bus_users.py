"""Resource servers' bus users (``MAVIO_RESOURCE_BUS_USERS``): one per resource service, each with the
``RESOURCE`` rights and its own inbox, never a Mavio process's name; the events they may hear are
exactly those a verifier's cache reacts to."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from types import SimpleNamespace

import msgspec
import pytest

from services.stack.credentials import StackCredentials
from shared import bus_auth, subjects
from shared.events import subject_of
from shared.messages import events as ev
from shared.messages.token import Introspection
from shared.verify_client import TokenVerifier


def test_each_resource_user_gets_the_resource_rights_and_its_own_inbox() -> None:
    users = bus_auth.all_users(("resource", "meetings-api"))
    assert users["resource"] == users["meetings-api"] == bus_auth.RESOURCE
    assert set(users) == {*bus_auth.USERS, "resource", "meetings-api"}
    block = bus_auth.server_authorization(
        {user: "pw" for user in users}, resource_users=("resource", "meetings-api")
    )
    assert '"_INBOX.meetings-api.>"' in block and '"_INBOX.resource.>"' in block
    assert subjects.EVENTS_ALL not in bus_auth.RESOURCE.subscribe
    assert subjects.EVENT_PLAN_CHANGED not in bus_auth.RESOURCE.subscribe
    assert bus_auth.RESOURCE.responses is False


@pytest.mark.parametrize("names", [("resource", "token"), ("cli",), ("a", "a")])
def test_a_resource_user_cannot_take_a_process_name_or_be_named_twice(names: tuple[str, ...]) -> None:
    with pytest.raises(ValueError):
        bus_auth.all_users(names)


def test_credentials_cover_every_resource_user_and_resource_env_names_the_first() -> None:
    creds = StackCredentials.generate(resource_users=("resource", "meetings-api"))
    assert {"resource", "meetings-api"} <= set(creds.nats)
    assert creds.nats["resource"] != creds.nats["meetings-api"]
    assert '{user: "meetings-api"' in creds.nats_config()
    assert creds.resource_env("nats://127.0.0.1:1") == {
        "MAVIO_NATS_URL": "nats://127.0.0.1:1",
        "MAVIO_NATS_USER": "resource",
        "MAVIO_NATS_PASSWORD": creds.nats["resource"],
    }


def test_the_deploy_block_is_printed_for_the_configured_users() -> None:
    env = {**os.environ, "MAVIO_RESOURCE_BUS_USERS": "resource,meetings-api"}
    done = subprocess.run(
        [sys.executable, "-m", "shared.bus_auth"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == bus_auth.deploy_authorization(("resource", "meetings-api"))
    assert "password: $MAVIO_NATS_MEETINGS_API_PASSWORD," in done.stdout


def test_make_run_refuses_a_resource_user_named_like_a_process() -> None:
    env = {**os.environ, "MAVIO_RESOURCE_BUS_USERS": "resource,token"}
    done = subprocess.run(
        [sys.executable, "-m", "services.stack"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert done.stderr.startswith("mavio: configuration error: MAVIO_RESOURCE_BUS_USERS:"), done.stderr
    assert "Traceback" not in done.stderr


EVICTING = [
    ev.TokensRevoked(at=0, client_id="c", families=["f"], reason="rfc7009"),
    ev.ScopesNarrowed(at=0, client_id="c", user_id="u", families=["f"], scope=""),
    ev.RefreshReused(at=0, client_id="c", family="f", user_id="u"),
    ev.CodeReused(at=0, client_id="c", family="f", user_id="u"),
    ev.GrantExpired(at=0, client_id="c", family="f", user_id="u"),
    ev.AppDeleted(at=0, client_id="c"),
]


@pytest.mark.parametrize("event", EVICTING, ids=lambda e: type(e).__name__)
async def test_every_event_a_verifier_evicts_on_is_one_its_bus_user_may_hear(event: ev.Event) -> None:
    """The verifier's cache reacts to these events (``_on_event``); its bus user must be let hear them."""
    verifier = TokenVerifier(None, cache_ttl=30)  # type: ignore[arg-type]  # events fed in directly
    verifier._store("token", "f", Introspection(active=True, client_id="c", exp=int(time.time()) + 60))
    assert len(verifier) == 1
    await verifier._on_event(SimpleNamespace(data=msgspec.json.encode(event)))  # type: ignore[arg-type]
    assert len(verifier) == 0
    assert subject_of(event) in subjects.VERIFIER_EVENTS
    assert subject_of(event) in bus_auth.RESOURCE.subscribe


def test_the_verifier_hears_no_event_it_ignores() -> None:
    assert sorted(subjects.VERIFIER_EVENTS) == sorted(subject_of(e) for e in EVICTING)
