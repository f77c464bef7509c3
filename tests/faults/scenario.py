"""One fault under load: chains and workers started, warmed up, the fault, then load until the system
has recovered (a quiet spell with both kinds succeeding), and the invariants checked afterwards."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tests.support.fleet import Fleet
from tests.support.load import Chain, EventTally, Load, Report, chain_problems, new_chains
from tests.support.token_flow import Party, new_party

REFRESHERS = 6  # HTTP workers, one refresh-token chain each
VERIFIERS = 8  # bus verification workers (as a resource server)
WORKERS = REFRESHERS + VERIFIERS
CLEAR_503 = {"refresh 503 temporarily_unavailable", "verify 503 temporarily_unavailable"}


@dataclass
class Result:
    report: Report
    problems: list[str]  # broken invariants (``tests.support.load.chain_problems``)
    revocations: dict[str, int]  # revocation-kind events seen (reuse detected, tokens revoked)
    chains: list[Chain]
    load: Load  # closed; ``verify_once`` is not usable any more

    def assert_invariants(self) -> None:
        assert self.report.before_fault == 0, self.report.line()
        assert self.problems == [], self.problems
        assert self.revocations == {}, f"tokens were revoked: {self.revocations}"


async def under_load(
    fleet: Fleet,
    name: str,
    fault: Callable[[], Awaitable[object]],
    *,
    quiet: float = 3.0,
    timeout: float = 45.0,
    party: Party | None = None,
    loads: list[Load] | None = None,
) -> Result:
    """``fault`` runs while the load does; the recovery time counts from its start. ``loads``: the
    running ``Load`` is appended to it (for a fault that watches the failures)."""
    system = fleet.system
    party = party or await new_party(system)
    chains = await new_chains(system, party, REFRESHERS)
    tally = EventTally()
    await tally.watch(system.nc)
    resource = await fleet.connect("resource")
    load = Load(system, chains, resource, verifiers=VERIFIERS, rotation=fleet.rotation)
    if loads is not None:
        loads.append(load)
    await load.start()
    try:
        await load.warm_up()
        fault_at = time.monotonic()
        await fault()
        ended = time.monotonic()
        await load.recovered(fault_at, quiet=quiet, timeout=timeout)
        await load.stop()
        report = load.report(name, fault_at, ended)
        problems = await chain_problems(load, system)
    finally:
        await load.close()
        await resource.close()
    return Result(report, problems, dict(tally.kinds), chains, load)
