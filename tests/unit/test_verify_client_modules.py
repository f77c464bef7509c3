"""``shared.verify_client`` is split by job (issue 23) with its public names unchanged: the cached
verifier, the bus connection options and the aiohttp guard each in a module of their own, every name a
resource server uses still importable from the package; the batching of bus requests (issue 28) is a
module of its own too."""

from __future__ import annotations

import ast
from pathlib import Path

import shared.verify_client as verify_client
from shared.verify_client import batch, connection, guard, verifier

PACKAGE = Path(verify_client.__file__).parent


def imported(module: object) -> set[str]:
    tree = ast.parse(Path(str(getattr(module, "__file__", ""))).read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_public_names_are_importable_from_the_package() -> None:
    assert verify_client.TokenVerifier is verifier.TokenVerifier
    assert verify_client.bus_options is connection.bus_options
    for name in ("require_scopes", "setup_verifier", "bearer_token", "VERIFIER", "TOKEN_INFO", "REALM"):
        assert getattr(verify_client, name) is getattr(guard, name), name
    assert set(verify_client.__all__) <= set(dir(verify_client))


def test_each_module_does_one_job() -> None:
    assert "aiohttp" not in imported(verifier)  # the verifier serves any framework
    assert "aiohttp" not in imported(batch)  # many verifications per bus message
    assert "aiohttp" not in imported(connection) and "nats" not in imported(connection)
    assert sorted(p.name for p in PACKAGE.glob("*.py")) == [
        "__init__.py",
        "batch.py",
        "connection.py",
        "guard.py",
        "verifier.py",
    ]
