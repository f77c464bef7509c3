"""Goals of issue 10 that are not a throughput ratio (revocation visibility, scale with data, memory,
the sweeper): each scenario returns ``Measure``s, which the report lists beside the ratio table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Measure:
    scenario: str
    figure: str  # what was measured, in words and numbers
    goal: str  # what issue 10 asks for
    met: bool
    data: dict[str, Any] = field(default_factory=dict)  # the raw figures, for the JSON


def pct(sorted_ms: list[float], p: float) -> float:
    if not sorted_ms:
        return float("nan")
    k = min(len(sorted_ms) - 1, max(0, round(p / 100 * len(sorted_ms) + 0.5) - 1))
    return sorted_ms[k]
