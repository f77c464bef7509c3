"""The grant family's Lua scripts, loaded from ``shared/grants/lua/`` (one file per script or rule).

A script is its library files (the rules it applies, e.g. ``reuse_detection.lua``) followed by its own
file, concatenated in that order; ``SOURCES`` names each script's parts once. Scripts touch the keys of
one hash slot only (a family, an app or a user: ``shared.grants.keys``), but for ``SEQUENCES`` and
``CALLERS``, which a single Redis runs as one script; times are whole epoch seconds passed in by the
caller; results are flat arrays whose first element names the outcome, or one string for a hot path's
success (Redis 6.2 writes each array reply of a script with its own write). ``script(name)`` is the
script for ``shared.script_runner.ScriptRunner``, the one way they run.
"""

from __future__ import annotations

from functools import cache
from typing import Final

from shared.script_runner import LuaScript, lua_source

_REVOKE = ("revoke_family",)
_REUSE = (*_REVOKE, "reuse_detection")

# script name -> the files it is made of, libraries first
SOURCES: Final[dict[str, tuple[str, ...]]] = {
    "code_single_use": (*_REUSE, "code_single_use"),
    "issue_first_pair": ("issue_first_pair",),
    "refresh_rotation": (*_REUSE, "replay_window", "scope_narrowing", "refresh_rotation"),
    "revoke_grant_family": (*_REVOKE, "revoke_grant_family"),
    "revoke_access_token": ("revoke_access_token",),
    "app_add_family": ("app_add_family",),
    "app_remove_family": ("app_remove_family",),
    "user_touch_family": ("user_touch_family",),
    "narrow_family_scope": ("scope_narrowing", "narrow_family_scope"),
    "narrow_grant_scope": ("scope_narrowing", "narrow_grant_scope"),
    "refresh_left_ms": ("refresh_left_ms",),
    "drop_idle_grant": ("drop_idle_grant",),
    "work_list_add": ("work_list_add",),
    "app_user_counted": ("app_user_counted",),
    "app_add_calls": ("app_add_calls",),
    "device_decide": ("device_decide",),
}

# Single Redis only: one script that runs several, in order, each on its own slice of KEYS and ARGV
# (script, keys, args), as the separate steps would run but in one command. It touches several slots,
# so on a Redis Cluster the steps stay separate. name -> its steps.
SEQUENCES: Final[dict[str, tuple[tuple[str, int, int], ...]]] = {
    # a family's first pair, counted (app, user, work list) then issued: ``issue_first_counted``
    "first_pair_counted": (
        ("app_add_family", 2, 3),
        ("user_touch_family", 2, 5),
        ("work_list_add", 1, 2),
        ("issue_first_pair", 5, 9),
    ),
}

# Single Redis only, as a sequence: a script whose own file calls other scripts, each a local function
# of its own KEYS and ARGV named after it, with values the script learns as it runs (``code_exchange``
# takes the user's index keys from the code's record). name -> the scripts it calls.
CALLERS: Final[dict[str, tuple[str, ...]]] = {
    "code_exchange": (
        "code_single_use",
        "app_add_family",
        "user_touch_family",
        "work_list_add",
        "issue_first_pair",
    ),
    "family_uncount": ("app_remove_family",),
    # every key in the family's slot: also run as it is on a Redis Cluster
    "device_poll": ("code_single_use",),
}

# Single Redis only: one script that runs another once per item of a batch, each item on its own slice of
# KEYS and ARGV (``keys`` and ``args`` per item, the first two ARGV), and answers every item's reply in
# order, as the script's separate calls in one pipeline would, in one command and one reply. The
# sweeper's steps, which touch a batch of families in as many slots. name -> the script each item runs.
PER_ITEM: Final[dict[str, str]] = {
    "refresh_left_ms_each": "refresh_left_ms",
    "family_uncount_each": "family_uncount",
    "app_user_counted_each": "app_user_counted",
    "drop_idle_grant_each": "drop_idle_grant",
}


def lua_file(name: str) -> str:
    """One file of ``lua/``, as text."""
    return lua_source(__package__, name)


@cache
def script(name: str) -> LuaScript:
    """The script ``name`` (a key of ``SOURCES``, ``SEQUENCES``, ``CALLERS`` or ``PER_ITEM``), for
    ``shared.script_runner.ScriptRunner``."""
    return LuaScript(name, source(name))


@cache
def source(name: str) -> str:
    """The full Lua source of the script ``name``."""
    if name in SEQUENCES:
        return _sequence(SEQUENCES[name])
    if name in PER_ITEM:
        return _per_item(PER_ITEM[name])
    if name in CALLERS:
        called = [_local_function(n, n) for n in CALLERS[name]]
        return "\n".join([*called, lua_file(name)])
    return "\n".join(lua_file(part) for part in SOURCES[name])


def _local_function(name: str, of: str) -> str:
    """The script ``of`` as a local function ``name`` of its own KEYS and ARGV."""
    return f"local function {name}(KEYS, ARGV)\n{source(of)}\nend"


def _sequence(steps: tuple[tuple[str, int, int], ...]) -> str:
    """Each step's source as a local function of its own KEYS and ARGV, called in order; the last
    step's reply is the sequence's. An error in a step ends the sequence there (the steps before it
    have run), as a failed step's error does for the caller of separate steps."""
    parts, k, a = [lua_file("slice")], 0, 0
    for i, (name, _, _) in enumerate(steps):
        parts.append(_local_function(f"step{i}", name))
    for i, (_, keys, args) in enumerate(steps):
        call = f"step{i}(slice(KEYS, {k + 1}, {k + keys}), slice(ARGV, {a + 1}, {a + args}))"
        parts.append(f"return {call}" if i == len(steps) - 1 else call)
        k, a = k + keys, a + args
    return "\n".join(parts)


def _per_item(of: str) -> str:
    """The script ``of`` as a local function of its own KEYS and ARGV, called once per item
    (``lua/each_item.lua``: ARGV[1] keys and ARGV[2] arguments each, after those two); every item's
    reply, in order."""
    return "\n".join([lua_file("slice"), _local_function("step", of), lua_file("each_item")])
