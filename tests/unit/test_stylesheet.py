"""The one stylesheet: borders and focus rings keep 3:1 against their backgrounds (WCAG 1.4.11), and
scope names are never broken mid-word (the old ``code { word-break: break-all }``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = (Path(__file__).resolve().parents[2] / "services" / "gateway" / "static" / "mavio.css").read_text()
VARS = dict(re.findall(r"--([a-z]+):(#[0-9a-f]{6})", CSS))


def luminance(hex_color: str) -> float:
    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("fg", ["edge", "accent", "bad"])
@pytest.mark.parametrize("bg", ["#ffffff", "bg"])
def test_borders_and_focus_have_3_to_1(fg: str, bg: str) -> None:
    assert contrast(VARS[fg], VARS.get(bg, bg)) >= 3.0


def test_inputs_secondary_buttons_and_focus_use_the_3_to_1_colours() -> None:
    assert re.search(r"input\[type=text\][^{]*\{[^}]*border:1px solid var\(--edge\)", CSS)
    assert re.search(r"button\.secondary[^{]*\{[^}]*border:1px solid var\(--edge\)", CSS)
    assert re.search(r":focus-visible \{ outline:3px solid var\(--accent\)", CSS)
    assert re.search(r"\[aria-invalid=true\] \{ border:2px solid var\(--bad\)", CSS)


def test_scope_names_never_break_mid_word() -> None:
    assert "break-all" not in CSS
    assert re.search(r"code\.scope-name[^{]*\{ white-space:nowrap; \}", CSS)


def test_the_contrast_formula() -> None:
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert contrast("#d9dde5", "#ffffff") < 3  # the old border colour failed
