"""Script calls batched per event-loop iteration: every grant script called in one iteration goes to
Redis in ONE pipeline (one write, one read, one connection), as ``reads.CoalescingReader`` does for GETs.

Each call is still its own ``EVALSHA``, atomic on its own, run in the order called; a call's error comes
back to that caller only. A script the server does not know (after a restart: ``NOSCRIPT``) did not run,
so those calls are sent again once every script is loaded. Used on a single Redis: on a Redis Cluster a
pipeline is split by node anyway, and calls go one by one (``GrantStoreBase._run``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from redis.exceptions import NoScriptError

from shared.grants.pipelines import PipelineScript
from shared.store import Redis

Call = tuple[PipelineScript, Sequence[str], Sequence[Any], "asyncio.Future[Any]"]


class ScriptBatcher:
    __slots__ = ("_max_batch", "_pending", "_redis", "_scheduled", "_scripts", "_tasks")

    def __init__(self, redis: Redis, scripts: Mapping[str, PipelineScript], *, max_batch: int = 256) -> None:
        self._redis = redis
        self._scripts = scripts
        self._max_batch = max_batch
        self._pending: list[Call] = []
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()

    def call(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append((self._scripts[name], keys, args, future))
        if len(self._pending) >= self._max_batch:
            self._flush()
        elif not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return future

    def _flush(self) -> None:
        self._scheduled = False
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        task = asyncio.create_task(self._send(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, batch: list[Call]) -> None:
        try:
            results = await self._execute(batch)
            unknown = [i for i, r in enumerate(results) if isinstance(r, NoScriptError)]
            if unknown:
                for script in {batch[i][0] for i in unknown}:
                    await self._redis.script_load(script.source)
                again = await self._execute([batch[i] for i in unknown])
                for i, result in zip(unknown, again, strict=True):
                    results[i] = result
        except Exception as exc:  # the connection, not a script: every caller of the batch hears it
            for *_, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (*_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)

    async def _execute(self, batch: list[Call]) -> list[Any]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for script, keys, args, _ in batch:
                script.queue(pipe, keys, args)
            return list(await pipe.execute(raise_on_error=False))
