"""One Redis idiom (issue 23): every Lua script is a ``.lua`` file in the ``lua/`` folder of the package
that owns its keys, named in that package's code, and runs through ``shared.script_runner``: no Lua,
``EVAL`` or script loading anywhere else in the code."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "shared" / "script_runner.py"
FORBIDDEN = re.compile(r"EVAL\b|\.eval\(|redis\.call|register_script|script_load|evalsha")


def code(suffix: str) -> list[Path]:
    return sorted(p for folder in ("shared", "services") for p in (ROOT / folder).rglob(f"*{suffix}"))


def test_no_lua_and_no_eval_outside_the_runner() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in code(".py")
        if path != RUNNER
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if FORBIDDEN.search(line)
    ]
    assert found == []


def test_every_script_is_a_file_in_a_lua_folder_of_its_package() -> None:
    scripts = code(".lua")
    assert len(scripts) > 20
    for path in scripts:
        package = path.parent.parent
        assert path.parent.name == "lua" and (package / "__init__.py").exists(), path
        named = [p for p in package.glob("*.py") if f'"{path.stem}"' in p.read_text(encoding="utf-8")]
        assert named, f"{path.relative_to(ROOT)} is named by no module of its package"
