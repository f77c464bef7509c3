"""The grant family's Lua scripts, loaded from ``shared/grants/lua/`` (one file per script or rule).

A script is its library files (the rules it applies, e.g. ``reuse_detection.lua``) followed by its own
file, concatenated in that order; ``SOURCES`` names each script's parts once. Scripts touch the keys of
one hash slot only (a family, an app or a user: ``shared.grants.keys``); times are whole epoch seconds
passed in by the caller; results are flat arrays whose first element names the outcome.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Final

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
}


def lua_file(name: str) -> str:
    """One file of ``lua/``, as text."""
    return resources.files(__package__).joinpath("lua", f"{name}.lua").read_text(encoding="utf-8")


@cache
def source(script: str) -> str:
    """The full Lua source of ``script`` (a key of ``SOURCES``)."""
    return "\n".join(lua_file(part) for part in SOURCES[script])
