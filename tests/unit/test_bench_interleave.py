"""``bench.interleave.turns``: the servers compared take their windows in turns, the order flipped
every round, so a machine's drift during the run weighs on each alike."""

from __future__ import annotations

from bench.http_scenarios import TokenEndpoint
from bench.interleave import Side, turns


async def _none(n: int) -> list[str]:
    return []


async def _no_codes(n: int) -> list[tuple[str, str]]:
    return []


def side(name: str) -> Side:
    return Side(
        name, TokenEndpoint(f"http://{name}/token", "id", "secret", "http://cb", {}), _none, _no_codes
    )


def test_each_round_runs_every_server_once_and_the_order_flips_every_round() -> None:
    a, b = side("a"), side("b")
    order = [[s.name for s in round_] for round_ in turns([a, b], 4)]
    assert order == [["a", "b"], ["b", "a"], ["a", "b"], ["b", "a"], ["a", "b"]]  # round 0 warms up


def test_over_the_measured_rounds_each_server_goes_first_equally_often_when_the_count_is_even() -> None:
    a, b = side("a"), side("b")
    firsts = [round_[0].name for round_ in turns([a, b], 6)[1:]]
    assert firsts.count("a") == firsts.count("b") == 3
