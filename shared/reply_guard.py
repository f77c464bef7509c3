"""Replies go only to an inbox: a service answers a request only when its reply subject lies under a
known bus user's inbox prefix (``_INBOX.<user>.``).

nats-server's ``allow_responses`` lets a responder publish to *any* reply subject a requester names,
even one the responder may not publish to otherwise (``$JS.API.STREAM.PURGE.…``, the audit subjects,
``events.>``). So the check is here, in the service, before a request is handled: a message whose
reply subject is anywhere else is dropped unhandled, counted (``mavio_bus_replies_refused_total``,
``shared.metrics``) and logged once per process. ``GuardedClient`` applies it to every subscription
nats.micro makes, its ``$SRV.PING/INFO/STATS`` answers included.

Without bus authentication (a development stack with no users) there are no user inboxes: any
``_INBOX.`` subject is answered, nothing else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import structlog
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from prometheus_client import Counter

from shared import bus_auth
from shared.config import Settings

log = structlog.get_logger("mavio.reply_guard")

INBOX = "_INBOX."
Callback = Callable[[Msg], Awaitable[None]]


def reply_users(settings: Settings) -> tuple[str, ...] | None:
    """The bus users whose inboxes a service answers; None when the bus has no users (any inbox). Not
    ``audit``: the JetStream writer asks services nothing, and its inbox receives JetStream's answers."""
    if not settings.nats_user:
        return None
    users = [u for u in bus_auth.USERS if u != bus_auth.AUDIT_USER]
    return (*users, *settings.resource_bus_users, *settings.bus_admin_users)


class ReplyGuard:
    """Decides whether a reply subject may be answered, counts and logs (once) what is refused."""

    def __init__(self, users: Iterable[str] | None, refused: Counter | None = None) -> None:
        names = None if users is None else tuple(dict.fromkeys(users))
        self._prefixes = (INBOX,) if names is None else tuple(f"{bus_auth.inbox_prefix(u)}." for u in names)
        self._refused = refused
        self._logged = False

    def allows(self, reply: str) -> bool:
        """No reply subject (a plain publish) is allowed: nothing will be answered."""
        return not reply or reply.startswith(self._prefixes)

    def refuse(self, subject: str, reply: str) -> None:
        if self._refused is not None:
            self._refused.inc()
        if not self._logged:  # once per process: an attacker must not be able to flood the log
            self._logged = True
            log.warning(
                "request with a reply subject outside every inbox dropped", subject=subject, reply=reply
            )

    def wrap(self, cb: Callback) -> Callback:
        async def guarded(msg: Msg) -> None:
            if self.allows(msg.reply):
                await cb(msg)
            else:
                self.refuse(msg.subject, msg.reply)

        return guarded


class GuardedClient:
    """The NATS client as nats.micro sees it: every subscription's callback goes through the guard.
    Everything else is the real client's."""

    def __init__(self, nc: NATS, guard: ReplyGuard) -> None:
        self._nc = nc
        self._guard = guard

    async def subscribe(self, subject: str, queue: str = "", cb: Callback | None = None, **kw: Any) -> Any:
        guarded = None if cb is None else self._guard.wrap(cb)
        return await self._nc.subscribe(subject, queue=queue, cb=guarded, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._nc, name)
