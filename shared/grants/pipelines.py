"""Many small Redis steps in few round trips, without stalling the event loop.

redis-py packs a whole pipeline synchronously before sending it, so a pipeline is kept to ``CHUNK``
steps: each chunk costs a few milliseconds of CPU, and the loop runs other tasks while its reply is on
the way. Lua scripts go into a pipeline as ``EVALSHA`` (a plain command, routed by its keys on a Redis
Cluster too); a server that does not know a script yet answers ``NOSCRIPT``, and the chunk is retried
once after loading every script it uses (each step is idempotent).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from redis.exceptions import NoScriptError

from shared.store import Redis

T = TypeVar("T")
CHUNK = 100  # steps per pipeline (a step may be up to three commands)


class PipelineScript:
    """A Lua script that can be queued into a pipeline by its SHA1."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()

    def queue(self, pipe: Any, keys: Sequence[str], args: Sequence[Any]) -> None:
        # execute_command, not evalsha(): cluster pipelines refuse the method but route the
        # command itself by its keys like any other.
        pipe.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)


async def run_steps(
    redis: Redis,
    items: Sequence[T],
    step: Callable[[Any, T], None],
    *,
    scripts: Sequence[PipelineScript] = (),
) -> list[Any]:
    """Queue ``step(pipe, item)`` for every item, ``CHUNK`` items per pipeline; every reply, in order
    (flat: a step that queues several commands contributes several replies)."""
    out: list[Any] = []
    for start in range(0, len(items), CHUNK):
        chunk = items[start : start + CHUNK]
        try:
            out += await _execute(redis, chunk, step)
        except NoScriptError:
            for script in scripts:
                await redis.script_load(script.source)
            out += await _execute(redis, chunk, step)
    return out


async def _execute(redis: Redis, chunk: Sequence[T], step: Callable[[Any, T], None]) -> list[Any]:
    async with redis.pipeline(transaction=False) as pipe:
        for item in chunk:
            step(pipe, item)
        return list(await pipe.execute())


async def run_per_item(
    script: Any,
    items: Sequence[T],
    keys_of: Callable[[T], Sequence[str]],
    args_of: Callable[[T], Sequence[Any]],
) -> list[Any]:
    """A ``scripts.PER_ITEM`` script (registered with the client: ``redis.register_script``, which loads
    it again after ``NOSCRIPT``) over ``items``, ``CHUNK`` items per call (single Redis only): each item's
    reply, in order, as ``run_steps`` with one script per item would give them, but one command and one
    reply per chunk instead of one per item."""
    if not items:
        return []
    nkeys, nargs = len(keys_of(items[0])), len(args_of(items[0]))
    out: list[Any] = []
    for start in range(0, len(items), CHUNK):
        chunk = items[start : start + CHUNK]
        flat_args = [nkeys, nargs, *(a for item in chunk for a in args_of(item))]
        out += await script(keys=[k for item in chunk for k in keys_of(item)], args=flat_args)
    return out
