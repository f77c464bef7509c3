"""Browser-test fixtures: Playwright driving Debian's chromium (never a downloaded browser)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import async_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    """Debian's chromium, or "" when it is not installed (``make browser`` installs it)."""
    for candidate in ("/usr/bin/chromium", shutil.which("chromium") or ""):
        if candidate and Path(candidate).exists():
            return candidate
    return ""


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    """A launched chromium (Playwright's async API, in the session's event loop)."""
    path = chromium_path()
    if not path:  # a failure, never a skip: a browser test that did not run has not passed
        pytest.fail("Debian's chromium is not installed: run `make browser` (make test does it)")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()
