"""Gateway helpers of the registry pages (pure): safe ``next`` paths and the API usage chart."""

from __future__ import annotations

import pytest

from services.gateway.developer.charts import bar_chart
from services.gateway.web_helpers import safe_next
from shared.messages.registry import DayCount


@pytest.mark.parametrize(
    "value", ["/", "/settings/developer/oauth-apps", "/oauth/authorize?client_id=x&state=a%2Fb", "/a/b#frag"]
)
def test_paths_on_this_site_are_kept(value: str) -> None:
    assert safe_next(value) == value


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "//evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "https://evil.example/",
        "http:/evil.example",
        "javascript:alert(1)",
        "evil.example/path",
        "/ok\r\nLocation: x",
        "/tab\there",
        "/a\\b",
        "/" + "a" * 2001,
    ],
)
def test_anything_else_is_ignored(value: str | None) -> None:
    assert safe_next(value) is None


def test_chart_scales_to_the_busiest_day() -> None:
    days = [DayCount(day=f"2026-01-{i:02d}", calls=c) for i, c in enumerate([0, 5, 10], start=1)]
    chart = bar_chart(days, width=300, height=120)
    assert [b.calls for b in chart.bars] == [0, 5, 10] and chart.peak == 10
    zero, half, full = chart.bars
    assert zero.height == 0 and full.y == 10 and full.height == chart.baseline - 10
    assert half.height == pytest.approx(full.height / 2)
    assert (chart.first_day, chart.last_day) == ("2026-01-01", "2026-01-03")
    assert all(b.x + b.width <= 300 for b in chart.bars)


def test_chart_of_no_calls_has_flat_bars() -> None:
    chart = bar_chart([DayCount(day="2026-01-01", calls=0)] * 30)
    assert len(chart.bars) == 30 and all(b.height == 0 for b in chart.bars) and chart.peak == 0
