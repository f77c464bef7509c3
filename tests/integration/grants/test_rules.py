"""The rules that run inside Lua, driven through Redis itself (no Python twin to drift from them):
scope narrowing (RFC 6749 §3.3, §6) as a plan change and as a refresh request apply it."""

from __future__ import annotations

import pytest

from shared.grants.scripts import lua_file
from shared.script_runner import LuaScript, ScriptRunner
from tests.support.system import System

PRO = frozenset({"meetings:read", "transcripts:read", "users:read", "meetings:write", "summaries:read"})


async def call_rule(system: System, rule: str, expression: str, *args: str) -> str | None:
    """Evaluate ``expression`` (Lua, over ARGV) after the rule file's own functions."""
    source = lua_file(rule) + f"\nreturn {expression}"
    out = await ScriptRunner(system.redis).run(LuaScript(rule, source), [], args)
    return None if out is None else out.decode() if isinstance(out, bytes) else str(out)


async def narrow_scope(system: System, scope: str, allowed: frozenset[str]) -> str | None:
    return await call_rule(
        system, "scope_narrowing", "narrow_to_allowed(ARGV[1], scope_set(ARGV[2]))", scope, " ".join(allowed)
    )


@pytest.mark.parametrize(
    ("scope", "allowed", "expected"),
    [
        ("meetings:read webhooks:write", PRO, "meetings:read"),
        ("webhooks:write meetings:write", PRO, "meetings:write"),
        ("users:read meetings:read", PRO, "users:read meetings:read"),  # order kept
        ("webhooks:write", PRO, ""),
        ("", PRO, ""),
        ("meetings:read", frozenset(), ""),
    ],
)
async def test_narrow_scope(system: System, scope: str, allowed: frozenset[str], expected: str) -> None:
    assert await narrow_scope(system, scope, allowed) == expected


@pytest.mark.parametrize(
    ("granted", "requested", "expected"),
    [
        ("a b c", "", "a b c"),  # nothing asked: unchanged
        ("a b c", "c a", "a c"),  # fewer, in the granted order
        ("a b c", "a a", "a"),
        ("a b", "a d", None),  # wider: refused (Lua nil)
        ("a", "b", None),
    ],
)
async def test_a_refresh_may_narrow_never_widen(
    system: System, granted: str, requested: str, expected: str | None
) -> None:
    got = await call_rule(system, "scope_narrowing", "narrow_requested(ARGV[1], ARGV[2])", granted, requested)
    assert got == expected
