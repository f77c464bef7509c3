"""The scopes table of ``docs/integration-guide.md``, generated from ``scopes.toml``.

``python -m shared.scopes_table docs/integration-guide.md`` rewrites the table between the markers;
a test fails while the guide and the catalog disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

from shared.scopes import PLANS, ScopeCatalog

START = "<!-- scopes-table:start (generated from shared/scopes.toml by python -m shared.scopes_table) -->"
END = "<!-- scopes-table:end -->"


def markdown_table(catalog: ScopeCatalog) -> str:
    """One row per scope, in catalog order: name, what the user sees, the plans that include it."""
    rows = ["| scope | shown to the user as | plans |", "|---|---|---|"]
    for scope in catalog:
        plans = ", ".join(p for p in PLANS if p in scope.plans)
        rows.append(f"| `{scope.name}` | {scope.description} | {plans} |")
    return "\n".join(rows)


def with_table(text: str, catalog: ScopeCatalog) -> str:
    """``text`` with the block between the markers replaced by the current table."""
    head, start, rest = text.partition(START)
    _, end, tail = rest.partition(END)
    if not start or not end:
        raise ValueError("the scopes-table markers are missing")
    return f"{head}{START}\n{markdown_table(catalog)}\n{END}{tail}"


def main(argv: list[str]) -> int:
    path = Path(argv[0] if argv else "docs/integration-guide.md")
    path.write_text(with_table(path.read_text(), ScopeCatalog.load()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
