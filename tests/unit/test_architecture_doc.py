"""``docs/architecture.md`` leads a newcomer to the code in one step (issue 23): its "Where to look
first" table names the six rules asked for most, and every file the page names exists (a file that
moves must move in the page too)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "architecture.md"
# A path in backticks from the repository's root, e.g. `services/gateway/developer/credentials.py`.
PATH = re.compile(r"`((?:services|shared|tests|docs|bench|deploy|scripts)/[\w./-]+)`")
SIX = (
    "refresh reuse",
    "client secret shown once",
    "consent single use",
    "plan narrowing",
    "error mapping",
    "client-auth rate limit",
)


def look_first_rows() -> dict[str, str]:
    section = PAGE.read_text().split("\n## Where to look first\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| you")]
    return {row.split(" | ")[0].removeprefix("| "): row.split(" | ")[1] for row in rows}


def test_the_six_lookups_are_in_the_first_table_each_with_files() -> None:
    rows = look_first_rows()
    for rule in SIX:
        found = [files for name, files in rows.items() if name.startswith(rule)]
        assert len(found) == 1, rule
        assert PATH.findall(found[0]), rule


def test_the_secret_shown_once_points_at_the_code_that_shows_it_once() -> None:
    files = next(files for name, files in look_first_rows().items() if name.startswith(SIX[1]))
    assert PATH.findall(files)[0] == "services/gateway/developer/credentials.py"


def test_every_file_the_page_names_exists() -> None:
    named = set(PATH.findall(PAGE.read_text()))
    assert len(named) > 20
    assert sorted(p for p in named if not (ROOT / p.rstrip("/")).exists()) == []


def test_every_key_builder_module_names_its_writer_in_the_page() -> None:
    """Each family of ``shared/keys.py`` is listed with the module that writes it (on its row, or the
    row's continuation lines)."""
    lines = PAGE.read_text().split("\n## Key families and their one writer\n", 1)[1].splitlines()
    for key, writer in (
        ("mavio:session:*", "services/gateway/sessions.py"),
        ("mavio:throttle:*", "services/gateway/ratelimit.py"),
        ("mavio:credentials-view:*", "services/gateway/developer/credentials.py"),
        ("{u:<user>}:consent-pages", "services/authorize/page_store.py"),
        ("mavio:sweeper:lease", "services/revocation/lease.py"),
        ("{u:<user>}:account", "shared/accounts/store.py"),
        ("{a:<client>}:app|logo", "shared/apps/store.py"),
    ):
        at = next(i for i, line in enumerate(lines) if key in line)
        assert any(writer in line for line in lines[at : at + 2]), key
