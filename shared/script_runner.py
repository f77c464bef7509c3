"""The one way a Lua script runs on Redis here.

Every script is a ``.lua`` file in the ``lua/`` folder of the package that owns the keys it touches,
named after its rule (``LuaScript.load``; a script may be several files, its rules' libraries first),
and every call goes through a ``ScriptRunner``:

- ``run`` one script, or ``steps``: several steps (scripts or plain commands) sent adjacent and in order.
  On a single Redis every call made in one event-loop iteration shares ONE pipeline (one write, one
  read, one connection), as ``shared.grants.reads`` does for GETs; on a Redis Cluster a call goes alone,
  to the node of its keys' slot.
- ``pipeline``: steps in a pipeline of their own (split by node on a Cluster), sent at once; and
  ``pipelined``: many items' steps in pipelines of ``CHUNK`` items: few round trips, and redis-py,
  which packs a pipeline synchronously, never stalls the event loop long.
- ``per_item``: a script that runs another once per item (``shared.grants.scripts.PER_ITEM``, single
  Redis only): one command and one reply per chunk.

A script is sent by its SHA1 (``EVALSHA``, a plain command that a cluster routes by its keys). A server
that does not know it yet (a restart, a failover: ``NOSCRIPT``) did not run it: ``send``, the one place
that handles this, loads every script those steps use and sends those steps again, in their order (the
other steps ran once, so a step sent again runs after the steps that followed it). Each step is atomic
on its own, and a step's error comes back to that step only.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, TypeVar

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError, ResponseError

from shared.per_iteration import PerIteration
from shared.store import Redis

T = TypeVar("T")
CHUNK = 100  # items per pipeline (an item may be a few steps)


def lua_source(package: str, *files: str) -> str:
    """The ``lua/<file>.lua`` files of ``package``, as one text, in order."""
    folder = resources.files(package).joinpath("lua")
    return "\n".join(folder.joinpath(f"{name}.lua").read_text(encoding="utf-8") for name in files)


class LuaScript:
    """A Lua script's source and its SHA1 (what ``EVALSHA`` names it by)."""

    __slots__ = ("name", "sha", "source")

    def __init__(self, name: str, source: str) -> None:
        self.name = name
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()

    @classmethod
    def load(cls, package: str, *files: str) -> LuaScript:
        """The script made of ``files`` of ``package``'s ``lua/`` folder, named after the last."""
        return cls(files[-1], lua_source(package, *files))


@dataclass(frozen=True, slots=True)
class Step:
    """A script with its keys and arguments, or (``script`` None: ``Step.command``) a plain command."""

    script: LuaScript | None
    keys: Sequence[str]
    args: Sequence[Any]

    @classmethod
    def command(cls, *args: Any) -> Step:
        return cls(None, (), args)

    def send_to(self, client: Any) -> Any:
        """The step as one command on ``client`` (a connection's awaitable reply, or a pipeline's queue)."""
        if self.script is None:
            return client.execute_command(*self.args)
        # execute_command, not evalsha(): cluster pipelines refuse the method but route the command
        # itself by its keys like any other.
        return client.execute_command("EVALSHA", self.script.sha, len(self.keys), *self.keys, *self.args)


async def send(redis: Redis, steps: Sequence[Step]) -> list[Any]:
    """Every step's reply, in order, a failed step's error as its reply: one command, or one pipeline
    (split by node on a Cluster). Steps whose script the server did not know are sent again once every
    script they use is loaded."""
    replies = await _execute(redis, steps)
    unknown = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
    if unknown:
        scripts = {script.sha: script for i in unknown if (script := steps[i].script) is not None}
        for script in scripts.values():
            await redis.script_load(script.source)  # on a Cluster: on every primary
        again = await _execute(redis, [steps[i] for i in unknown])
        for i, reply in zip(unknown, again, strict=True):
            replies[i] = reply
    return replies


async def _execute(redis: Redis, steps: Sequence[Step]) -> list[Any]:
    if len(steps) == 1:
        try:
            return [await steps[0].send_to(redis)]
        except ResponseError as exc:
            return [exc]
    async with redis.pipeline(transaction=False) as pipe:
        for step in steps:
            step.send_to(pipe)
        return list(await pipe.execute(raise_on_error=False))


def _raise_first(replies: list[Any]) -> list[Any]:
    for reply in replies:
        if isinstance(reply, Exception):
            raise reply
    return replies


Call = tuple[Sequence[Step], "asyncio.Future[list[Any]]"]


class _Batcher(PerIteration[Call]):
    """The calls of one event-loop iteration, sent in one pipeline (single Redis)."""

    __slots__ = ("_redis",)

    def __init__(self, redis: Redis, max_batch: int) -> None:
        super().__init__(max_batch)
        self._redis = redis

    def steps(self, steps: Sequence[Step]) -> asyncio.Future[list[Any]]:
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._enqueue((steps, future))
        return future

    async def _send(self, batch: list[Call]) -> None:
        try:
            replies = await send(self._redis, [step for steps, _ in batch for step in steps])
        except Exception as exc:  # the connection, not a step: every call of the batch hears it
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        at = 0
        for steps, future in batch:
            if not future.done():
                future.set_result(replies[at : at + len(steps)])
            at += len(steps)


class ScriptRunner:
    """Runs every Lua script (and the commands sent beside them) on one client, single Redis or Cluster."""

    __slots__ = ("_batcher", "_redis")

    def __init__(self, redis: Redis, *, max_batch: int = 256) -> None:
        self._redis = redis
        self._batcher = None if isinstance(redis, RedisCluster) else _Batcher(redis, max_batch)

    @property
    def batched(self) -> bool:
        """A single Redis: the calls of one event-loop iteration share a round trip."""
        return self._batcher is not None

    async def run(self, script: LuaScript, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """The script's reply (its error raised)."""
        [reply] = await self.steps([Step(script, keys, args)])
        if isinstance(reply, Exception):
            raise reply
        return reply

    def steps(self, steps: Sequence[Step]) -> Awaitable[list[Any]]:
        """Every step's reply, in order; a step that failed has its exception as its reply."""
        if self._batcher is not None:
            return self._batcher.steps(steps)
        return send(self._redis, steps)

    async def pipeline(self, steps: Sequence[Step]) -> list[Any]:
        """``steps`` in a pipeline of their own (split by node on a Cluster), sent now; every reply, in
        order (the first failed step's error raised once every step is done)."""
        return _raise_first(await send(self._redis, steps))

    async def pipelined(self, items: Sequence[T], steps_of: Callable[[T], Iterable[Step]]) -> list[Any]:
        """``steps_of(item)`` for every item, ``CHUNK`` items per ``pipeline``; every reply, in order
        and flat."""
        out: list[Any] = []
        for start in range(0, len(items), CHUNK):
            chunk = items[start : start + CHUNK]
            out += await self.pipeline([step for item in chunk for step in steps_of(item)])
        return out

    async def per_item(
        self,
        script: LuaScript,
        items: Sequence[T],
        keys_of: Callable[[T], Sequence[str]],
        args_of: Callable[[T], Sequence[Any]],
    ) -> list[Any]:
        """A per-item script (its first two arguments: keys and arguments per item) over ``items``,
        ``CHUNK`` items per call: each item's reply, in order, as one call per item would give them,
        but one command and one reply per chunk (single Redis only: the items' keys are in many slots)."""
        if not items:
            return []
        nkeys, nargs = len(keys_of(items[0])), len(args_of(items[0]))
        out: list[Any] = []
        for start in range(0, len(items), CHUNK):
            chunk = items[start : start + CHUNK]
            keys = [k for item in chunk for k in keys_of(item)]
            args = [nkeys, nargs, *(a for item in chunk for a in args_of(item))]
            [reply] = _raise_first(await send(self._redis, [Step(script, keys, args)]))
            out += reply
        return out
