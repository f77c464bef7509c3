"""Development convenience: a demo account for ``make run`` (filled in by the registry work)."""

from __future__ import annotations


def ensure_demo_account(env: dict[str, str]) -> None:
    """Create the demo account if missing and print its credentials (development only)."""
    return None
