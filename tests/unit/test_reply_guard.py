"""Which reply subjects a service answers (``shared.reply_guard``), and the queue-group rules of the bus
permissions (``shared.bus_auth``), as tables; the real nats-server holds them in
``tests/integration/test_bus_replies.py`` and ``test_bus_commands.py``."""

from __future__ import annotations

import pytest

from shared import bus_auth
from shared.config import load_settings
from shared.reply_guard import ReplyGuard, reply_users


@pytest.mark.parametrize(
    ("reply", "allowed"),
    [
        ("", True),  # a plain publish: nothing will be answered
        ("_INBOX.resource.abc.1", True),
        ("_INBOX.meetings-api.x", True),  # a resource user from MAVIO_RESOURCE_BUS_USERS
        ("_INBOX.cli.x", True),
        ("$JS.API.STREAM.PURGE.MAVIO_AUDIT", False),
        ("$JS.API.STREAM.DELETE.MAVIO_AUDIT", False),
        ("mavio.oauth.v1.audit.mavio_client_x", False),
        ("mavio.oauth.v1.events.app.deleted", False),
        ("_INBOX.nobody.x", False),  # not a known user
        ("_INBOX.audit.x", False),  # the JetStream writer's inbox: JetStream answers go there
        ("_INBOX.resourcefake.x", False),  # a prefix of a known user is not that user
        ("_INBOX.resource", False),  # the prefix itself, no inbox token
        ("_INBOX.x", False),
    ],
)
def test_only_a_known_users_inbox_is_answered(reply: str, allowed: bool) -> None:
    settings = load_settings(
        {"MAVIO_NATS_USER": "token", "MAVIO_RESOURCE_BUS_USERS": "resource,meetings-api"}
    )
    assert ReplyGuard(reply_users(settings)).allows(reply) is allowed


def test_without_bus_users_any_inbox_and_nothing_else() -> None:
    guard = ReplyGuard(reply_users(load_settings({})))
    assert guard.allows("_INBOX.Xk3q9.1") and not guard.allows("$JS.API.STREAM.PURGE.MAVIO_AUDIT")


def test_a_refused_reply_is_counted_each_time_and_logged_once() -> None:
    from prometheus_client import CollectorRegistry, Counter
    from structlog.testing import capture_logs

    counter = Counter("refused", "", registry=CollectorRegistry())
    guard = ReplyGuard(("resource",), counter)
    with capture_logs() as logs:
        for _ in range(3):
            guard.refuse("mavio.oauth.v1.token.calls", "$JS.API.STREAM.PURGE.MAVIO_AUDIT")
    assert counter._value.get() == 3
    assert len(logs) == 1 and logs[0]["reply"] == "$JS.API.STREAM.PURGE.MAVIO_AUDIT"


def test_observers_join_no_queue_and_a_service_only_its_own_on_its_subjects() -> None:
    for user, permissions in bus_auth.USERS.items():
        block = bus_auth.permissions_block(user, permissions)["subscribe"]
        if permissions.queue:
            own = f"mavio.oauth.v1.{permissions.queue}.> {permissions.queue}"
            assert own in block["allow"], user
            assert all(not d.startswith(f"mavio.oauth.v1.{permissions.queue}.") for d in block["deny"]), user
            assert all(d.endswith(" >") for d in block["deny"]) and block["deny"], user
        else:
            assert block["deny"] == ["> >"], user


def test_only_the_jetstream_users_may_use_jetstream() -> None:
    for user, permissions in bus_auth.USERS.items():
        writes = [
            s for s in permissions.publish if s.startswith("$JS.") or ".audit." in s or ".commands." in s
        ]
        if user in (bus_auth.AUDIT_USER, bus_auth.WEBHOOKS_JS_USER):
            assert writes and not permissions.responses and permissions.subscribe == ()
        elif user == "cli":  # reads the trail and the queue's size, writes nothing
            assert all(".INFO." in s or ".CONSUMER.*." in s for s in writes), writes
        else:
            assert writes == [], user


def test_the_webhooks_jetstream_user_has_its_queue_only_and_audit_has_none_of_it() -> None:
    """The process calling arbitrary URLs writes no audit record or command and never changes the trail;
    the trail's writers pull no webhook job."""
    hooks = bus_auth.USERS[bus_auth.WEBHOOKS_JS_USER].publish
    assert not [s for s in hooks if ".audit." in s or ".commands." in s or "MAVIO_COMMANDS" in s]
    assert not [
        s
        for s in hooks
        if "MAVIO_AUDIT" in s and ".STREAM." in s and ".INFO." not in s and ".CREATE." not in s
    ]
    assert bus_auth.JETSTREAM_USERS["webhooks"] == bus_auth.WEBHOOKS_JS_USER
    audit = bus_auth.USERS[bus_auth.AUDIT_USER].publish
    assert not [s for s in audit if "webhook" in s.lower()], audit
