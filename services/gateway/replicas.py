"""The token replicas this gateway can address one by one, and the one with the least work.

A queue group hands each message to a member picked at random. With a few large batches in flight
(``services.gateway.token_batch``) that often leaves one replica signing two batches while the other
has none: on a 2-core machine one core then idles for about a quarter of an OpenID Connect code
exchange run (``perf sched``, 6,000 exchanges). So each token replica also serves
``token.exchange_many`` on its own subject (``shared.subjects.replica_subject``: the subject and its
nats.micro id), and the gateway sends each batch to the known replica with the fewest items in flight
from this gateway (join the shortest queue), ties taken in turn.

Discovery is nats.micro's own: every ``DISCOVER_EVERY`` seconds the gateway asks ``$SRV.INFO.token``,
and a replica whose INFO lists its own ``exchange_many`` subject is known (an older replica without one
is never addressed). A replica not heard from in ``FORGET_AFTER`` seconds is forgotten, and so is one
whose subject finds no responder (it stopped): that batch goes to the queue group instead, as it does
while no replica is known. So a replica that starts is used within ``DISCOVER_EVERY`` seconds, and one
that stops costs at most one redirected batch.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Final

import msgspec
import structlog
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from shared import subjects
from shared.tasks import cancel_and_wait

log = structlog.get_logger("mavio.gateway")

DISCOVER_EVERY: Final = 2.0
FORGET_AFTER: Final = 3 * DISCOVER_EVERY + 1.0


class _Endpoint(msgspec.Struct, kw_only=True):
    subject: str = ""


class _Info(msgspec.Struct, kw_only=True):
    """The part of a nats.micro INFO answer read here."""

    name: str = ""
    id: str = ""
    endpoints: list[_Endpoint] | None = None


_decode_info = msgspec.json.Decoder(_Info).decode


class ReplicaLoads:
    """Token replicas by id (pure, no I/O): when last heard from, and how many items this gateway has
    sent each that are not answered yet."""

    __slots__ = ("_clock", "_heard", "_load", "_turn")

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._heard: dict[str, float] = {}
        self._load: dict[str, int] = {}
        self._turn = 0

    def known(self) -> list[str]:
        return sorted(self._heard)

    def heard(self, replica_id: str) -> None:
        self._heard[replica_id] = self._clock()
        self._load.setdefault(replica_id, 0)

    def pick(self, items: int) -> str | None:
        """The known replica with the fewest items in flight (ties in turn), now charged ``items``;
        None when no replica is known (the queue group's pick then)."""
        now = self._clock()
        for stale in [r for r, at in self._heard.items() if now - at > FORGET_AFTER]:
            self.forget(stale)
        if not self._heard:
            return None
        least = min(self._load[r] for r in self._heard)
        candidates = [r for r in self._heard if self._load[r] == least]
        self._turn += 1
        chosen = candidates[self._turn % len(candidates)]
        self._load[chosen] += items
        return chosen

    def done(self, replica_id: str, items: int) -> None:
        """``items`` sent to ``replica_id`` are answered (or failed)."""
        if replica_id in self._load:
            self._load[replica_id] = max(0, self._load[replica_id] - items)

    def forget(self, replica_id: str) -> None:
        """Not addressed again until its INFO is heard again (it stopped, or stopped answering)."""
        self._heard.pop(replica_id, None)
        self._load.pop(replica_id, None)


class Replicas(ReplicaLoads):
    """``ReplicaLoads`` kept current by nats.micro discovery over one bus connection."""

    __slots__ = ("_inbox", "_nc", "_sub", "_task")

    def __init__(self, nc: NATS, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock=clock)
        self._nc = nc
        self._inbox = ""
        self._sub: Subscription | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._inbox = self._nc.new_inbox()
        self._sub = await self._nc.subscribe(self._inbox, cb=self._on_info)
        self._task = asyncio.create_task(self._discover_forever(), name="token-replicas")

    async def close(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
        if self._sub is not None and not self._nc.is_closed:
            try:
                await self._sub.unsubscribe()
            except Exception as exc:  # the connection is going anyway
                log.debug("token replicas' inbox not unsubscribed", debug=repr(exc))

    async def discover(self) -> None:
        """Ask every token replica for its INFO (the answers arrive in ``_on_info``)."""
        if self._nc.is_connected:
            await self._nc.publish(f"$SRV.INFO.{subjects.TOKEN}", b"", reply=self._inbox)

    async def _discover_forever(self) -> None:
        while True:
            try:
                await self.discover()
            except Exception as exc:  # the bus is away: ask again next round
                log.debug("token replicas not asked", debug=repr(exc))
            await asyncio.sleep(DISCOVER_EVERY)

    async def _on_info(self, msg: Msg) -> None:
        try:
            info = _decode_info(msg.data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return
        if info.name == subjects.TOKEN and info.id and _serves_directly(info):
            self.heard(info.id)


def _serves_directly(info: _Info) -> bool:
    own = subjects.replica_subject(subjects.TOKEN_EXCHANGE_MANY, info.id)
    return any(endpoint.subject == own for endpoint in info.endpoints or ())
