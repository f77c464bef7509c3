"""Who may say what on the bus: one NATS user per process kind, allowed only its own subjects.

Each service subscribes to its own ``mavio.oauth.v1.<service>.>`` (and ``$SRV`` discovery) and
publishes only the requests it makes and the events it announces; replies go back through
``allow_responses`` (a responder may answer a request it received; the service itself answers only
inboxes, ``shared.reply_guard``). Every user gets its own reply inbox prefix ``_INBOX.<user>``, so no
one can read another user's replies. Only a service may join a queue group, and only its own (named
after it) on its own subjects: an observer subscribing to events with a queue is refused. JetStream
(the audit trail, revocation's command queue) is written only by ``audit``, a user that serves no
request (the webhooks service's queue only by its own ``webhooks_js``, which reads the trail): the
services' own users have no ``$JS`` right a forged reply could borrow. An unauthenticated client is
refused at connect. ``server_authorization`` renders the nats-server ``authorization`` block
from this table, for the embedded stack, the test fixtures and ``deploy/nats.conf`` alike.

Resource servers are bus users too: one per resource service (``Settings.resource_bus_users``, env
``MAVIO_RESOURCE_BUS_USERS``, default ``resource``), each with the ``RESOURCE`` rights and its own
inbox. ``MAVIO_RESOURCE_BUS_USERS=resource,meetings-api python -m shared.bus_auth`` prints the block
for ``deploy/nats.conf`` with those users.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared import subjects
from shared.config import Settings

P = subjects.PREFIX
AUDIT = f"{P}.audit.>"  # the audit stream's subjects (``shared.events.AUDIT_PREFIX``)
_STREAM = "MAVIO_AUDIT"
_COMMANDS = "MAVIO_COMMANDS"  # revocation's work queue (``shared.commands``)
_CONSUMER = f"{_COMMANDS}.revocation"
_WEBHOOKS = "MAVIO_WEBHOOKS"  # the webhooks service's delivery queue (``shared.webhooks.queue``)
# The webhooks service's durable consumers: of its queue, and of the audit trail (its feed).
_WEBHOOK_CONSUMERS = (f"{_WEBHOOKS}.webhooks", f"{_STREAM}.webhooks")
# Create or update the audit stream and the command queue, publish to them (the acknowledgement comes
# back to the inbox), and pull and acknowledge revocation's commands.
_JS_WRITE = (
    AUDIT,
    f"{P}.commands.>",
    *(f"$JS.API.STREAM.{op}.{s}" for op in ("CREATE", "UPDATE", "INFO") for s in (_STREAM, _COMMANDS)),
    "$JS.API.INFO",
    *(f"$JS.API.CONSUMER.{op}.{_CONSUMER}" for op in ("CREATE", "DURABLE.CREATE", "INFO", "MSG.NEXT")),
    f"$JS.API.CONSUMER.CREATE.{_CONSUMER}.>",  # with its filter subject
    f"$JS.ACK.{_CONSUMER}.>",
)
# The webhooks service's JetStream user: its own delivery queue (jobs, and the jobs waiting for their next
# attempt as JetStream schedules), its durable consumers of the queue and of the audit trail (read-only:
# the stream's info, its creation when missing at start, its consumer's pulls and acknowledgements;
# never an update of or a write to the trail, nothing of revocation's commands). The process that calls
# arbitrary URLs can forge no audit record or command, and no other process may pull its jobs.
_JS_WEBHOOKS = (
    f"{P}.webhook-queue.>",
    f"{P}.webhook-wait.>",
    *(f"$JS.API.STREAM.{op}.{_WEBHOOKS}" for op in ("CREATE", "UPDATE", "INFO")),
    *(f"$JS.API.STREAM.{op}.{_STREAM}" for op in ("CREATE", "INFO")),
    "$JS.API.INFO",
    *(
        f"$JS.API.CONSUMER.{op}.{c}"
        for op in ("CREATE", "DURABLE.CREATE", "INFO", "MSG.NEXT")
        for c in _WEBHOOK_CONSUMERS
    ),
    *(f"$JS.API.CONSUMER.CREATE.{c}.>" for c in _WEBHOOK_CONSUMERS),
    *(f"$JS.ACK.{c}.>" for c in _WEBHOOK_CONSUMERS),
)
# An ordered consumer of the trail (its API only: never a pull from another stream's consumer), and
# the command queue's size for ``status``.
_JS_READ = (
    f"$JS.API.STREAM.INFO.{_STREAM}",
    f"$JS.API.CONSUMER.*.{_STREAM}",
    f"$JS.API.CONSUMER.*.{_STREAM}.>",
    f"$JS.API.STREAM.INFO.{_COMMANDS}",
)
_APP_EVENTS = (
    f"{P}.events.app.>",
    f"{P}.events.secret.>",
    f"{P}.events.credential.>",
)  # ``RegistryClient.watch``
_SERVE = ("$SRV.>",)
_DISCOVER = ("$SRV.PING", "$SRV.INFO", "$SRV.STATS")  # every service answers these (``mavio-oauth status``)
RESPONSES = {"max": 10, "expires": "10m"}  # nats.micro discovery: PING, INFO, STATS
AUDIT_USER = "audit"
WEBHOOKS_JS_USER = "webhooks_js"
ANY_QUEUE = ">"  # a queue-name pattern matching every queue group


@dataclass(frozen=True, slots=True)
class Permissions:
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    responses: bool  # may answer requests it received (``allow_responses``)
    queue: str = ""  # the queue group it serves its own subjects in (a service's name); "" = none


def _own(service: str) -> tuple[str, ...]:
    return (f"{P}.{service}.>", *_SERVE)


def _probe(service: str) -> tuple[str, ...]:
    """A replica's readiness probe (``python -m shared.probe``) asks its own service's health."""
    return (subjects.op(service, "health"),)


USERS: dict[str, Permissions] = {
    "authorize": Permissions(
        publish=(subjects.REGISTRY_GET_APP, subjects.REGISTRY_GET_ACCOUNT, *_probe("authorize")),
        subscribe=(*_own("authorize"), *_APP_EVENTS),
        responses=True,
        queue="authorize",
    ),
    "token": Permissions(
        publish=(f"{P}.registry.>", f"{P}.events.>", *_probe("token")),
        subscribe=(*_own("token"), *_APP_EVENTS, subjects.EVENT_SIGNING_KEYS_ROTATED),
        responses=True,
        queue="token",
    ),
    "registry": Permissions(
        publish=(f"{P}.events.>", *_probe("registry")),
        subscribe=_own("registry"),
        responses=True,
        queue="registry",
    ),
    "revocation": Permissions(
        # A command's outcome goes to the registry's inbox that waits for it (``shared.commands``).
        publish=(f"{P}.registry.>", f"{P}.events.>", "_INBOX.registry.>", *_probe("revocation")),
        subscribe=(*_own("revocation"), f"{P}.events.>"),
        responses=True,
        queue="revocation",
    ),
    # Developer webhooks: it serves its own subjects and reads Redis; its JetStream work (the audit feed,
    # the delivery queue) goes through its second connection as ``WEBHOOKS_JS_USER``.
    "webhooks": Permissions(
        publish=_probe("webhooks"),
        subscribe=_own("webhooks"),
        responses=True,
        queue="webhooks",
    ),
    # The gateway answers discovery only ($SRV: ``services.gateway.announce``), for ``mavio-oauth status``.
    # Of revocation it asks only what a user or an app asks for itself: an app's commands ("revoke all
    # tokens", deletion) are the registry's, which has revocation do them. Of token, only what HTTP
    # asks: never ``token.keys.*`` (the signing keys are the operator's: ``mavio-oauth keys``).
    "gateway": Permissions(
        publish=(
            *(
                f"{P}.{service}.>"
                for service in subjects.SERVICES
                if service not in (subjects.REVOCATION, subjects.TOKEN)
            ),
            subjects.TOKEN_EXCHANGE,
            subjects.TOKEN_EXCHANGE_MANY,  # many token-endpoint requests per message (``token_batch``)
            # ... or to the token replica with the least work (``services.gateway.replicas``), found by
            # asking the token replicas' nats.micro INFO
            subjects.replica_subject(subjects.TOKEN_EXCHANGE_MANY, "*"),
            f"$SRV.INFO.{subjects.TOKEN}",
            subjects.TOKEN_INTROSPECT,
            subjects.TOKEN_USERINFO,
            subjects.TOKEN_DEVICE_AUTHORIZE,
            subjects.op(subjects.TOKEN, "health"),  # ``/readyz``
            subjects.REVOCATION_REVOKE,
            subjects.REVOCATION_REVOKE_GRANT,
            subjects.REVOCATION_CONNECTED_APPS,
            subjects.REVOCATION_LEAKED,  # a leak report's tokens (``POST /oauth/leaked-credentials``)
            subjects.op(subjects.REVOCATION, "health"),  # ``/readyz``
        ),
        subscribe=(*_APP_EVENTS, *_SERVE),
        responses=True,
    ),
    # The operator CLI (``mavio-oauth``): accounts, plans, signing keys, the audit trail and ``status``.
    "cli": Permissions(
        publish=(
            f"{P}.registry.>",
            f"{P}.revocation.>",
            subjects.TOKEN_KEYS_LIST,
            subjects.TOKEN_KEYS_ROTATE,
            *_JS_READ,
            *_DISCOVER,
        ),
        subscribe=(),
        responses=True,  # JetStream flow control asks the ordered consumer to answer
    ),
    # Mavio billing: tells us about plan changes (``README``: Operator CLI).
    "billing": Permissions(
        publish=(subjects.REVOCATION_PLAN_CHANGED, subjects.REGISTRY_SET_PLAN),
        subscribe=(),
        responses=False,
    ),
    # The JetStream writer of token, registry and revocation (their second connection): the audit
    # trail, revocation's command queue. It serves no request, so no reply can borrow its rights.
    AUDIT_USER: Permissions(publish=_JS_WRITE, subscribe=(), responses=False),
    # The webhooks service's JetStream connection: its queue, the audit trail read-only (``_JS_WEBHOOKS``).
    WEBHOOKS_JS_USER: Permissions(publish=_JS_WEBHOOKS, subscribe=(), responses=False),
}
# The services with a second (JetStream) connection, and its bus user.
JETSTREAM_USERS = {
    "token": AUDIT_USER,
    "registry": AUDIT_USER,
    "revocation": AUDIT_USER,
    "webhooks": WEBHOOKS_JS_USER,
}

# A resource server using ``shared.verify_client``: verify tokens, report cached calls, and hear only
# the events its verification cache needs (not plan changes, not app or secret changes). Each resource
# service is its own user with these rights (``Settings.resource_bus_users``, ``all_users``), so none
# can read another's ``_INBOX.<user>`` replies.
RESOURCE = Permissions(
    publish=(subjects.TOKEN_VERIFY, subjects.TOKEN_VERIFY_MANY, subjects.TOKEN_CALLS),
    subscribe=subjects.VERIFIER_EVENTS,
    responses=False,
)
DEFAULT_RESOURCE_USERS = ("resource",)  # ``make run``'s, and deploy/nats.conf's as shipped


def all_users(resource_users: Sequence[str] = DEFAULT_RESOURCE_USERS) -> dict[str, Permissions]:
    """``USERS`` and one user with ``RESOURCE`` rights per name of ``resource_users``.

    Raises ``ValueError`` for a resource user named like one of ``USERS`` (it would get two
    permission blocks) or named twice."""
    clash = sorted(set(resource_users) & set(USERS))
    if clash:
        raise ValueError(f"resource bus user {clash[0]!r} is the name of a Mavio process's user")
    if len(set(resource_users)) != len(resource_users):
        raise ValueError("a resource bus user is named twice")
    return {**USERS, **dict.fromkeys(resource_users, RESOURCE)}


def inbox_prefix(user: str) -> str:
    return f"_INBOX.{user}"


def permissions_block(user: str, permissions: Permissions) -> dict[str, Any]:
    block: dict[str, Any] = {
        "publish": {"allow": list(permissions.publish)},
        "subscribe": _subscribe(user, permissions),
    }
    if permissions.responses:
        # A responder gets one message through each of its subscriptions that match (e.g. a service's
        # queue-group endpoint and its cache watching the same event); the server's default (one reply)
        # then refuses the answer. A few replies within the longest command are allowed instead.
        block["allow_responses"] = RESPONSES
    return block


def _subscribe(user: str, permissions: Permissions) -> dict[str, list[str]]:
    """Queue groups are named: entries ``"<subject> <queue>"``. A service may join only its own queue
    (its name), only on its own subjects; no one may join a queue anywhere else (an observer of events
    cannot take a service's work). nats-server lets a queue subscription through a plain allow entry
    unless an allow entry names other queues for that subject or a deny entry names its queue."""
    allow = [*permissions.subscribe, f"{inbox_prefix(user)}.>"]
    if not permissions.queue:
        return {"allow": allow, "deny": [f"> {ANY_QUEUE}"]}
    own = f"{P}.{permissions.queue}."
    allow.append(f"{own}> {permissions.queue}")
    deny = [f"{s} {ANY_QUEUE}" for s in permissions.subscribe if not s.startswith(own)]
    return {"allow": allow, "deny": deny}


def server_authorization(
    passwords: Mapping[str, str],
    *,
    resource_users: Sequence[str] = DEFAULT_RESOURCE_USERS,
    extra: Mapping[str, str] | None = None,
) -> str:
    """The nats-server ``authorization`` block: every user of ``all_users(resource_users)`` with its
    password.

    A password starting with ``$`` is written bare: nats-server then reads it from that environment
    variable (``deploy/nats.conf``). ``extra`` users (tests' own harness) may do anything.
    """
    users: list[tuple[str, str, dict[str, Any] | None]] = []
    for user, permissions in all_users(resource_users).items():
        users.append((user, passwords[user], permissions_block(user, permissions)))
    for user, password in (extra or {}).items():
        users.append((user, password, None))
    lines = ["authorization {", "  users = ["]
    for user, password, perms in users:
        secret = password if password.startswith("$") else json.dumps(password)
        entry = f"    {{user: {json.dumps(user)}, password: {secret}"
        entry += f", permissions: {json.dumps(perms)}}}" if perms is not None else "}"
        lines.append(entry)
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"


def password_variable(user: str) -> str:
    """The environment variable holding ``user``'s password in a deployment: ``MAVIO_NATS_<USER>_PASSWORD``
    (``meetings-api`` -> ``MAVIO_NATS_MEETINGS_API_PASSWORD``)."""
    return f"MAVIO_NATS_{user.upper().replace('-', '_')}_PASSWORD"


def deploy_authorization(resource_users: Sequence[str] = DEFAULT_RESOURCE_USERS) -> str:
    """``deploy/nats.conf``'s ``authorization`` block: each password from ``password_variable``."""
    passwords = {user: f"${password_variable(user)}" for user in all_users(resource_users)}
    return server_authorization(passwords, resource_users=resource_users)


def audit_connect_options(settings: Settings) -> dict[str, Any]:
    """``nats.connect`` keyword arguments of a service's JetStream connection (``JETSTREAM_USERS``: bus
    user ``audit``, or the webhooks service's own), its password ``MAVIO_NATS_AUDIT_PASSWORD``."""
    if not settings.nats_user:
        return {}
    user = JETSTREAM_USERS.get(settings.nats_user, AUDIT_USER)
    return {
        "user": user,
        "password": settings.nats_audit_password,
        "inbox_prefix": inbox_prefix(user),
    }


def connect_options(settings: Settings) -> dict[str, Any]:
    """``nats.connect`` keyword arguments for this process's bus identity (none when unset)."""
    if not settings.nats_user:
        return {}
    return {
        "user": settings.nats_user,
        "password": settings.nats_password,
        "inbox_prefix": inbox_prefix(settings.nats_user),
    }


def main() -> int:
    """``python -m shared.bus_auth``: print ``deploy_authorization`` for ``MAVIO_RESOURCE_BUS_USERS``."""
    import sys

    from shared.config import ConfigError, load_settings

    try:
        print(deploy_authorization(load_settings().resource_bus_users), end="")
    except (ConfigError, ValueError) as exc:
        print(f"bus_auth: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
