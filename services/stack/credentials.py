"""Credentials of an embedded stack: a random password per bus user and for the Redis ACL user.

Made fresh each time the stack starts; the servers get them as an ``authorization`` block and an ACL
file (mode 0600, in the run folder), each process only the environment of its own identity.
"""

from __future__ import annotations

import os
import secrets
import string
from dataclasses import dataclass, field
from pathlib import Path

from shared import bus_auth, redis_acl


def _password() -> str:
    return secrets.token_urlsafe(24)


def environment_password() -> str:
    """A password that a nats-server configuration may take from the environment (``password:
    $MAVIO_NATS_<USER>_PASSWORD``, as compose and Kubernetes do): nats-server parses the variable's
    value as a bare token, so one starting with a digit or ``-`` is read as a number and the server
    refuses to start. A letter, then 31 letters or digits: about 190 random bits."""
    alphabet = string.ascii_letters + string.digits
    return secrets.choice(string.ascii_letters) + "".join(secrets.choice(alphabet) for _ in range(31))


@dataclass(frozen=True)
class StackCredentials:
    nats: dict[str, str]  # bus user -> password
    redis: dict[str, str]  # Redis ACL user -> password
    admins: dict[str, str] = field(default_factory=dict)  # full-rights users on both (test harness only)

    resource_users: tuple[str, ...] = bus_auth.DEFAULT_RESOURCE_USERS  # resource servers' bus users

    @classmethod
    def generate(
        cls, *, admin: str = "", resource_users: tuple[str, ...] = bus_auth.DEFAULT_RESOURCE_USERS
    ) -> StackCredentials:
        admins = {admin: _password()} if admin else {}
        return cls(
            nats={user: _password() for user in bus_auth.all_users(resource_users)},
            redis={redis_acl.SERVICE_USER: _password()},
            admins=admins,
            resource_users=resource_users,
        )

    def nats_config(self) -> str:
        return bus_auth.server_authorization(self.nats, resource_users=self.resource_users, extra=self.admins)

    def redis_acl(self) -> str:
        return redis_acl.acl_file(self.redis, admins=self.admins)

    def resource_env(self, nats_url: str) -> dict[str, str]:
        """``resource.env``: what a local resource server needs, and nothing else: the bus address and
        the first resource user's credentials (``resource`` unless ``MAVIO_RESOURCE_BUS_USERS`` says
        otherwise)."""
        if not self.resource_users:
            return {"MAVIO_NATS_URL": nats_url}
        user = self.resource_users[0]
        return {"MAVIO_NATS_URL": nats_url, "MAVIO_NATS_USER": user, "MAVIO_NATS_PASSWORD": self.nats[user]}

    def env(self, user: str) -> dict[str, str]:
        """The ``MAVIO_*`` credentials of one process: bus user ``user``, the services' Redis user."""
        if user in self.admins:
            password = self.admins[user]
            return _env(user, password, user, password)
        redis_user = redis_acl.SERVICE_USER
        env = _env(user, self.nats[user], redis_user, self.redis[redis_user])
        if user in bus_auth.JETSTREAM_USERS:  # its JetStream connection (``audit``, or webhooks' own)
            env["MAVIO_NATS_AUDIT_PASSWORD"] = self.nats[bus_auth.JETSTREAM_USERS[user]]
        return env


def _env(nats_user: str, nats_password: str, redis_user: str, redis_password: str) -> dict[str, str]:
    return {
        "MAVIO_NATS_USER": nats_user,
        "MAVIO_NATS_PASSWORD": nats_password,
        "MAVIO_REDIS_USER": redis_user,
        "MAVIO_REDIS_PASSWORD": redis_password,
    }


def write_private(path: Path, text: str) -> Path:
    """Write ``text`` readable by this user only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.chmod(path, 0o600)
    return path
