"""The layers hold: a service depends on ``shared`` only, never on another service; ``shared`` depends
on no service; the grant family's keys are built only by ``shared.grants`` (and, for the pending-code
member format, read by the revocation cascade that hands such members back to it)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "__init__.py").exists())


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{alias.name}" for alias in node.names)
    return out


def modules(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_no_other_service(service: str) -> None:
    for path in modules(ROOT / "services" / service):
        others = {
            name
            for name in imports_of(path)
            if name.startswith("services.") and name.split(".")[1] != service
        }
        assert not others, f"{path.relative_to(ROOT)} imports {sorted(others)}"


def test_shared_imports_no_service() -> None:
    for path in modules(ROOT / "shared"):
        found = {name for name in imports_of(path) if name == "services" or name.startswith("services.")}
        assert not found, f"{path.relative_to(ROOT)} imports {sorted(found)}"


def test_only_the_grants_package_builds_grant_keys() -> None:
    users = {
        str(path.relative_to(ROOT))
        for folder in ("shared", "services")
        for path in modules(ROOT / folder)
        if "shared.grants.keys" in imports_of(path) and "shared/grants/" not in str(path.relative_to(ROOT))
    }
    assert users == {"services/revocation/cascade.py"}
