"""Script calls batched per event-loop iteration: every grant call made in one iteration goes to Redis
in ONE pipeline (one write, one read, one connection), as ``reads.CoalescingReader`` does for GETs.

A call is one or more steps (a script's ``EVALSHA``, or a plain command), sent adjacent and in order;
each step is atomic on its own, and a step's error comes back to that call only. A script the server
does not know (after a restart: ``NOSCRIPT``) did not run, so those steps are sent again, in their order,
once every script is loaded. Used on a single Redis: on a Redis Cluster a pipeline is split by node, and
calls go one by one (``GrantStoreBase._run``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from redis.exceptions import NoScriptError

from shared.grants.per_iteration import PerIteration
from shared.grants.pipelines import PipelineScript
from shared.store import Redis


@dataclass(frozen=True, slots=True)
class Step:
    """A script with its keys and arguments, or (``script`` None) a plain command ``args``."""

    script: PipelineScript | None
    keys: Sequence[str]
    args: Sequence[Any]

    def queue(self, pipe: Any) -> None:
        if self.script is None:
            pipe.execute_command(*self.args)
        else:
            self.script.queue(pipe, self.keys, self.args)


Call = tuple[Sequence[Step], "asyncio.Future[list[Any]]"]


class ScriptBatcher(PerIteration[Call]):
    __slots__ = ("_redis", "_scripts")

    def __init__(self, redis: Redis, scripts: Mapping[str, PipelineScript], *, max_batch: int = 256) -> None:
        super().__init__(max_batch)
        self._redis = redis
        self._scripts = scripts

    async def call(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """One script's reply (its error raised)."""
        [reply] = await self.steps([Step(self._scripts[name], keys, args)])
        if isinstance(reply, Exception):
            raise reply
        return reply

    def steps(self, steps: Sequence[Step]) -> asyncio.Future[list[Any]]:
        """Every step's reply, in order; a step that failed has its exception as its reply."""
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._enqueue((steps, future))
        return future

    async def _send(self, batch: list[Call]) -> None:
        flat = [step for steps, _ in batch for step in steps]
        try:
            replies = await self._execute(flat)
            unknown = [i for i, r in enumerate(replies) if isinstance(r, NoScriptError)]
            if unknown:
                sources = {step.source for i in unknown if (step := flat[i].script) is not None}
                for source in sources:
                    await self._redis.script_load(source)
                again = await self._execute([flat[i] for i in unknown])
                for i, reply in zip(unknown, again, strict=True):
                    replies[i] = reply
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

    async def _execute(self, steps: list[Step]) -> list[Any]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for step in steps:
                step.queue(pipe)
            return list(await pipe.execute(raise_on_error=False))
