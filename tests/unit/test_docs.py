"""The operator documentation matches the code: every ``MAVIO_*`` variable the settings loader accepts
is in the README's configuration table, and every metric the processes register is explained in
``docs/operations.md`` (names from the real registries, as Prometheus is sent them)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shared import config
from tests.unit.test_grafana_dashboard import exposed_names

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
OPERATIONS = ROOT / "docs" / "operations.md"


def configuration_table() -> str:
    """The README's ``## Configuration`` section, up to the next heading."""
    text = README.read_text()
    section = text.split("\n## Configuration\n", 1)[1]
    return section.split("\n## ", 1)[0]


def accepted_variables() -> list[str]:
    return sorted(config._PARSERS)


def test_the_loader_accepts_variables() -> None:
    names = accepted_variables()
    assert "MAVIO_METRICS_HOST" in names and "MAVIO_TOKEN_HMAC_KEY" in names
    assert all(re.fullmatch(r"MAVIO_[A-Z0-9_]+", name) for name in names)


@pytest.mark.parametrize("variable", accepted_variables())
def test_every_setting_is_in_the_readme_configuration_table(variable: str) -> None:
    rows = [line for line in configuration_table().splitlines() if line.startswith("| `")]
    assert any(line.startswith(f"| `{variable}` |") for line in rows), variable


def test_the_replica_variables_are_in_the_configuration_table() -> None:
    """``make run``'s ``MAVIO_<SERVICE>_REPLICAS``: one row naming every service."""
    row = next(line for line in configuration_table().splitlines() if "`MAVIO_<SERVICE>_REPLICAS`" in line)
    for variable, service in config.REPLICA_VARIABLES.items():
        assert variable == f"MAVIO_{service.upper()}_REPLICAS" and f"`{service.upper()}`" in row, variable


@pytest.mark.parametrize("family", sorted(set(exposed_names().values())))
def test_every_registered_metric_is_explained_in_operations(family: str) -> None:
    """The name an operator queries: ``_total`` for a counter, the bare name otherwise."""
    names = [name for name, owner in exposed_names().items() if owner == family]
    queried = next((n for n in names if n.endswith("_total")), family)
    rows = [line for line in OPERATIONS.read_text().splitlines() if line.startswith("| `")]
    assert any(line.startswith(f"| `{queried}` |") for line in rows), queried


def test_operations_names_no_metric_the_code_does_not_register() -> None:
    exposed = exposed_names()
    known = set(exposed) | {family for name, family in exposed.items() if name.endswith("_bucket")}
    mentioned = set(re.findall(r"`(mavio_[a-z_]+)(?:\{[^`]*\})?`", OPERATIONS.read_text()))
    assert mentioned and sorted(mentioned - known) == []
