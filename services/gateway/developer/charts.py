"""The per-day API calls chart on an app's page, as geometry for an inline SVG (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.messages.registry import DayCount

WIDTH = 600
HEIGHT = 140
TOP = 10
BOTTOM = 0  # the axis labels are HTML beside and under the SVG (readable at any width)
GAP = 2


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: str
    calls: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    baseline: float
    bars: list[Bar]
    peak: int
    first_day: str
    last_day: str
    total: int = 0

    @property
    def middle_day(self) -> str:
        """The date under the middle of the x axis ("" for fewer than three days)."""
        return self.bars[len(self.bars) // 2].day if len(self.bars) >= 3 else ""

    @property
    def half_peak(self) -> str:
        """The y axis' middle label: half the busiest day, when that is a whole number of calls."""
        return str(self.peak // 2) if self.peak >= 2 and self.peak % 2 == 0 else ""


def bar_chart(days: list[DayCount], *, width: int = WIDTH, height: int = HEIGHT) -> Chart:
    """One bar per day, scaled to the busiest day; a day without calls gets no visible bar."""
    peak = max((d.calls for d in days), default=0)
    baseline = float(height - BOTTOM)
    room = baseline - TOP
    slot = width / max(len(days), 1)
    bars = []
    for i, d in enumerate(days):
        h = room * d.calls / peak if peak else 0.0
        bars.append(
            Bar(x=round(i * slot + GAP / 2, 2), y=round(baseline - h, 2), width=round(slot - GAP, 2),
                height=round(h, 2), day=d.day, calls=d.calls)
        )  # fmt: skip
    first = days[0].day if days else ""
    last = days[-1].day if days else ""
    return Chart(
        width=width,
        height=height,
        baseline=baseline,
        bars=bars,
        peak=peak,
        first_day=first,
        last_day=last,
        total=sum(d.calls for d in days),
    )
