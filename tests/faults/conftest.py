"""Fault tests: real processes on loopback (``tests.support.fleet``) under load (``tests.support.load``).
Each test prints its figures; they are repeated at the end of the session."""

from __future__ import annotations

from typing import Any

from tests.support.load import REPORTS


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if REPORTS:
        terminalreporter.section("fault tests: requests, failures, recovery")
        for line in REPORTS:
            terminalreporter.write_line(line)
