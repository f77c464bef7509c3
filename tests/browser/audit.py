"""Every page, checked as a person would meet it: axe-core (injected into the page) for accessibility,
no horizontal overflow at 360 px, the layout checks of ``layout_checks`` (checkbox beside its label,
long values broken at sensible points, breadcrumbs, header rows, scope descriptions) at both widths,
and a screenshot at 1280 and 360 px into ``screenshots/``.

axe-core comes from npm into ``.browser-deps/`` (``make browser``; git-ignored). Only ``serious`` and
``critical`` violations fail a test; every violation is written to ``screenshots/axe-report.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.browser.layout_checks import CHECKS

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / ".browser-deps" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "screenshots"
WIDTHS = ((1280, 800), (360, 740))
FAILING = ("serious", "critical")
# A scope name laid out on more than one line ("meetin gs:read") has more than one line box.
BROKEN_SCOPE_NAMES = """() => [...document.querySelectorAll("code.scope-name")]
  .filter(el => el.getClientRects().length > 1).map(el => el.textContent)"""
RUN_AXE = """() => axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({
  id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map(n => n.target.join(" ")),
})))"""


def axe_source() -> str:
    if not AXE.exists():  # a failure, never a skip
        pytest.fail("axe-core is not installed: run `make browser` (make test does it)")
    return AXE.read_text()


@dataclass
class Audit:
    """Collects each page's result; ``report`` writes them, ``failures`` lists what must be fixed."""

    results: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def page(self, page: Any, name: str) -> None:
        """Audit the page as it is now, at both widths, and take both screenshots."""
        SHOTS.mkdir(exist_ok=True)
        entry: dict[str, Any] = {"url": page.url}
        for width, height in WIDTHS:
            await page.set_viewport_size({"width": width, "height": height})
            if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
                await page.add_script_tag(content=axe_source())
            result = await page.evaluate(RUN_AXE)
            broken = await page.evaluate(BROKEN_SCOPE_NAMES)
            overflow = await page.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            layout = {key: await page.evaluate(check) for key, check in CHECKS.items()}
            shot = SHOTS / f"{name}-{width}.png"
            await page.screenshot(path=str(shot), full_page=True)
            entry[str(width)] = {
                "violations": result,
                "overflow_px": overflow,
                "broken_scope_names": broken,
                "screenshot": shot.name,
                **layout,
            }
        self.results[name] = entry

    def failures(self) -> list[str]:
        out = []
        for name, entry in self.results.items():
            for width, _ in WIDTHS:
                got = entry[str(width)]
                out += [
                    f"{name} @{width}px: {v['impact']} {v['id']} ({v['help']}) at {v['targets'][:3]}"
                    for v in got["violations"]
                    if v["impact"] in FAILING
                ]
                out += [
                    f"{name} @{width}px: scope name {s!r} broken across lines"
                    for s in got["broken_scope_names"]
                ]
                out += [f"{name} @{width}px: {key}: {found}" for key in CHECKS for found in got[key]]
                if width == 360 and got["overflow_px"] > 0:
                    out.append(f"{name} @360px: {got['overflow_px']} px of horizontal overflow")
        return out

    def report(self, file: str = "axe-report.json") -> Path:
        SHOTS.mkdir(exist_ok=True)
        path = SHOTS / file
        existing = json.loads(path.read_text()) if path.exists() else {}
        existing.update(self.results)
        path.write_text(json.dumps(existing, indent=2, sort_keys=True))
        return path
