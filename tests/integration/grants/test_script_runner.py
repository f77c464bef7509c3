"""The one script runner (``shared.script_runner``), on a single Redis and on a real Redis Cluster (this
folder's ``system``): a script the server does not know (a restart, a failover: ``NOSCRIPT``) is loaded
and its steps sent again, in order, beside steps that ran the first time; a step's error comes back to
that step only; replies come back in order, across calls batched together and across chunks."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from redis.exceptions import ResponseError

from shared.script_runner import CHUNK, LuaScript, ScriptRunner, Step
from tests.support.system import System


def fresh(body: str) -> LuaScript:
    """A script no server has seen (its source differs by a comment)."""
    return LuaScript("test", f"-- {secrets.token_hex(8)}\n{body}")


def tagged(name: str) -> str:
    """Keys of one test in one hash slot, so a Redis Cluster sends their steps to one node, in order."""
    return f"mavio:test:{{runner}}:{name}:{secrets.token_hex(4)}"


async def test_steps_the_server_did_not_know_run_after_one_load_in_their_order(system: System) -> None:
    runner, key = ScriptRunner(system.redis), tagged("a")
    read, fail, count = (
        fresh("return redis.call('GET', KEYS[1])"),
        fresh("return redis.error_reply('boom')"),
        fresh("return redis.call('INCR', KEYS[1])"),
    )
    await system.redis.script_flush()
    replies = await runner.steps(
        [
            Step.command("SET", key, "1"),
            Step(read, [key], []),
            Step(fail, [key], []),
            Step(count, [key], []),
            Step(read, [key], []),
        ]
    )
    assert replies[0] is True and replies[1] == b"1" and replies[3] == 2 and replies[4] == b"2"
    assert isinstance(replies[2], ResponseError) and "boom" in str(replies[2])
    assert await system.redis.get(key) == b"2"  # every step ran once


async def test_a_script_forgotten_between_calls_is_loaded_again(system: System) -> None:
    runner, key, echo = ScriptRunner(system.redis), tagged("b"), fresh("return ARGV[1]")
    assert await runner.run(echo, [key], ["one"]) == b"one"
    await system.redis.script_flush()  # as after a restart
    assert await runner.run(echo, [key], ["two"]) == b"two"


async def test_a_failing_script_raises_for_its_caller_only(system: System) -> None:
    runner = ScriptRunner(system.redis)
    fail, echo = fresh("return redis.error_reply('nope')"), fresh("return ARGV[1]")
    calls = [
        runner.run(fail, [tagged("c")], []),
        *(runner.run(echo, [tagged("c")], [str(i)]) for i in range(20)),
    ]
    replies = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(replies[0], ResponseError) and "nope" in str(replies[0])
    assert replies[1:] == [str(i).encode() for i in range(20)]  # batched together on a single Redis


async def test_pipelined_steps_answer_in_order_across_chunks(system: System) -> None:
    runner, incr = ScriptRunner(system.redis), fresh("return redis.call('INCRBY', KEYS[1], ARGV[1])")
    items = [tagged(f"d{i}") for i in range(CHUNK + 7)]
    await system.redis.script_flush()
    replies = await runner.pipelined(items, lambda k: [Step.command("SET", k, "10"), Step(incr, [k], [5])])
    assert replies == [True, 15] * len(items)
    with pytest.raises(ResponseError, match="not an integer"):
        await runner.pipelined(items[:3], lambda k: [Step.command("SET", k, "x"), Step(incr, [k], [1])])
