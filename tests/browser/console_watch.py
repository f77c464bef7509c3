"""What a browser context reports while a test drives it: Content Security Policy violations in the
console and uncaught page errors. Any of them fails the test (``assert_clean``), and a wait that
times out says what the browser reported (a blocked form submission leaves the page where it was, so
the console is the only place that says why).

    watch = ConsoleWatch()
    context = await watch.new_context(chromium)
    ...
    await watch.wait_for_url(page, callback.url + "?*")
    watch.assert_clean()
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

CSP_MARKERS = ("Content Security Policy", "Content-Security-Policy")


def is_csp_violation(text: str) -> bool:
    return any(marker in text for marker in CSP_MARKERS)


@dataclass
class ConsoleWatch:
    """Collects the problems of every page of the contexts it watches."""

    problems: list[str] = field(default_factory=list)

    async def new_context(self, browser: Any, **options: Any) -> Any:
        """A fresh context (no cookies: signed out) whose every page is watched."""
        context = await browser.new_context(**options)
        context.on("page", self.watch)
        return context

    def watch(self, page: Any) -> None:
        page.on("console", lambda msg: self._console(page, msg))
        page.on("pageerror", lambda error: self.problems.append(f"page error at {page.url}: {error}"))

    def _console(self, page: Any, msg: Any) -> None:
        if is_csp_violation(msg.text):
            self.problems.append(f"CSP violation at {page.url}: {msg.text}")

    async def wait_for_url(self, page: Any, url: Any, *, timeout: float = 15_000) -> None:
        """``page.wait_for_url``, failing with what the browser reported when it never gets there."""
        try:
            await page.wait_for_url(url, timeout=timeout)
        except Exception as exc:  # Playwright's TimeoutError: say where the page stayed and why
            raise AssertionError(
                f"never reached {url!r}; stayed at {page.url}; the browser reported: {self.problems}"
            ) from exc

    async def wait_for_problem(self, text: str, *, timeout: float = 10.0) -> str:
        """The first problem containing ``text``, polled until ``timeout`` seconds have passed."""
        deadline = time.monotonic() + timeout
        while not (found := [p for p in self.problems if text in p]):
            assert time.monotonic() < deadline, f"no problem with {text!r} reported: {self.problems}"
            await asyncio.sleep(0.05)
        return found[0]

    def assert_clean(self) -> None:
        assert self.problems == [], "\n".join(self.problems)
