"""The token endpoint's windows of the servers compared, taken in turns.

These machines drift: the same server's windows differ by two to four times within minutes (other
tenants' load, CPU steal). Run one server's windows and then the other's, and the ratio measures the
drift as much as the servers. Here every round runs one window of each server, so both are measured
at nearly the same moment, and the order flips every round (A B, B A, A B, ...), so neither is always
the one that runs right after the other's codes or tokens were minted. Round 0 warms each server up
and is not counted; each figure is the median of its server's windows, as before."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from bench.http_scenarios import TokenEndpoint
from bench.load import Window, median_window
from bench.wrk_load import Codes, Mint, wrk_exchange_window, wrk_refresh_window


@dataclass(frozen=True)
class Side:
    """One server under comparison: its name in the results and how to feed it."""

    name: str
    endpoint: TokenEndpoint
    mint: Mint  # fresh refresh-token chains
    codes: Codes  # fresh (code, code_verifier) pairs
    refresh_only: bool = False  # measured in the refresh rounds only (Mavio's public client)


def turns(sides: list[Side], rounds: int) -> list[list[Side]]:
    """The order of each round: round 0 (the warm-up) and then ``rounds`` measured ones, flipped each
    round."""
    return [sides if r % 2 == 0 else sides[::-1] for r in range(rounds + 1)]


async def interleaved(sides: list[Side], a: argparse.Namespace) -> dict[str, Window]:
    """Refresh (``a.repeats`` rounds of ``a.duration`` s) then code exchange (``a.exchange_windows``
    rounds of ``a.codes_per_window`` codes), each server's windows in turns with the others'."""
    results: dict[str, Window] = {}
    for scenario, rounds in (("refresh", a.repeats), ("exchange", a.exchange_windows)):
        taking = [side for side in sides if scenario == "refresh" or not side.refresh_only]
        windows: dict[str, list[Window]] = {side.name: [] for side in taking}
        for r, order in enumerate(turns(taking, rounds)):
            for side in order:
                if scenario == "refresh":
                    w = await wrk_refresh_window(
                        side.endpoint, side.mint, a, a.warmup if r == 0 else a.duration
                    )
                else:
                    w = await wrk_exchange_window(side.endpoint, side.codes, a)
                if r:
                    print(f"  [{scenario} {side.name}] window {r}: {w.line()}", flush=True)
                    windows[side.name].append(w)
        results |= {f"{scenario} {name}": median_window(ws) for name, ws in windows.items()}
    return results
