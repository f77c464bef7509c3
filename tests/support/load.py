"""Load for fault tests: concurrent bearer-token verifications on the bus (as a resource server, through
``shared.verify_client``) and refresh-token rotations over HTTP through the gateway, each worker owning
one refresh-token chain. Every request is recorded with its outcome, so a test can say how many failed,
in which shape, and how long after the fault the last one failed (the recovery time).

A worker whose refresh failed presents the same refresh token again: within the replay window
(``MAVIO_REFRESH_REPLAY_WINDOW``) a rotation that happened without its answer gives back the same
successor, so a chain survives any fault without losing a token or minting two.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import msgspec
from nats.aio.client import Client as NATS

from shared.errors import OAuthError
from shared.grants.records import RefreshTokenRecord
from shared.keys import P
from shared.messages import events as ev
from shared.tokens import parse
from shared.verify_client import TokenVerifier
from tests.support.system import System
from tests.support.token_flow import Party, seed_code

HTTP_TIMEOUT = 20.0  # above the gateway's bus timeout: a refresh answers or is a 503 before this
# A resource server's bus timeout: the gateway's (5 s), not ``TokenVerifier``'s default 2 s, so that a
# verification slowed by a loaded test machine is not counted as a failure of the system.
VERIFY_TIMEOUT = 5.0
RETRY_PAUSE = 0.2  # after a failed request, before the next one
REPORTS: list[str] = []  # every fault test's figures, printed at the end of the session


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: str  # "verify" | "refresh"
    started: float  # time.monotonic()
    ended: float
    error: str  # "" when it succeeded; else its shape: "503 temporarily_unavailable", "inactive", ...


@dataclass
class Chain:
    """One worker's refresh-token chain: every refresh token it was given, oldest first."""

    party: Party
    refresh_tokens: list[str]
    access_tokens: list[str]
    successor: dict[str, str] = field(default_factory=dict)  # presented -> the successor it gave
    problems: list[str] = field(default_factory=list)

    @property
    def family(self) -> str:
        parsed = parse(self.refresh_tokens[0], "rt")
        assert parsed is not None
        return parsed.family

    def advance(self, presented: str, pair: dict[str, Any]) -> None:
        new = pair["refresh_token"]
        earlier = self.successor.setdefault(presented, new)
        if earlier != new:
            self.problems.append("one refresh token gave two different successors")
            return
        if new in self.refresh_tokens:
            self.problems.append("a successor appeared twice in the chain")
            return
        self.refresh_tokens.append(new)
        self.access_tokens.append(pair["access_token"])


@dataclass
class Report:
    name: str
    requests: Counter[str]
    errors: Counter[str]  # "<kind> <shape>" -> count
    recovery: float  # seconds from the fault to the end of the last failed request (0: none failed)
    before_fault: int  # requests that failed before the fault (must be none)
    fault_length: float  # seconds the fault itself took (an outage, a rolling restart; 0 for a kill)

    def line(self) -> str:
        shapes = ", ".join(f"{shape} x{n}" for shape, n in self.errors.most_common()) or "none"
        total = sum(self.requests.values())
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(self.requests.items()))
        failed = sum(self.errors.values())
        lasted = f", which lasted {self.fault_length:.2f} s" if self.fault_length >= 0.5 else ""
        return (
            f"{self.name}: {total} requests ({kinds}); {failed} failed ({shapes}); "
            f"last failure {self.recovery:.2f} s after the fault began{lasted}"
        )


class Load:
    """``refreshers`` HTTP refresh workers (one chain each) and ``verifiers`` bus verification workers."""

    def __init__(
        self,
        system: System,
        chains: list[Chain],
        resource_nc: NATS,
        *,
        verifiers: int,
        rotation: list[str] | None = None,
    ) -> None:
        """``rotation``: the gateways' base URLs a load balancer would send to (changed while running);
        default: the system's one gateway."""
        self.system = system
        self.chains = chains
        self.rotation = rotation if rotation is not None else [system.base_url]
        self.in_flight: Counter[str] = Counter()  # requests under way per gateway base URL
        self.outcomes: list[Outcome] = []
        self._verifier = TokenVerifier(resource_nc, timeout=VERIFY_TIMEOUT)
        self._verifiers = verifiers
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT))
        self._tasks = [asyncio.create_task(self._refresher(chain)) for chain in self.chains]
        self._tasks += [asyncio.create_task(self._verifying()) for _ in range(self._verifiers)]

    async def stop(self) -> None:
        """Stop the workers (each finishes its request in flight); ``refresh_once`` still works."""
        self._stop.set()
        await asyncio.gather(*self._tasks)

    async def close(self) -> None:
        await self.stop()
        if self._http is not None:
            await self._http.close()

    # ---- workers --------------------------------------------------------------------------------

    async def refresh_once(self, chain: Chain) -> str:
        """Present the chain's newest refresh token once; "" or the failure's shape."""
        assert self._http is not None
        presented = chain.refresh_tokens[-1]
        form = {"grant_type": "refresh_token", "refresh_token": presented, **chain.party.post_auth()}
        base = random.choice(self.rotation)
        self.in_flight[base] += 1
        try:
            async with self._http.post(base + "/oauth/token", data=form) as resp:
                body = await resp.json(content_type=None)
                status = resp.status
        except Exception as exc:
            return f"exception {type(exc).__name__}"
        finally:
            self.in_flight[base] -= 1
        if status != 200:
            error = body.get("error", "?") if isinstance(body, dict) else "?"
            return f"{status} {error}"
        chain.advance(presented, body)
        return ""

    async def verify_once(self, token: str) -> str:
        try:
            info = await self._verifier.verify(token)
        except OAuthError as exc:
            return f"{exc.status} {exc.error}"
        except Exception as exc:
            return f"exception {type(exc).__name__}"
        return "" if info.active else "inactive"

    async def _refresher(self, chain: Chain) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            error = await self.refresh_once(chain)
            self.outcomes.append(Outcome("refresh", started, time.monotonic(), error))
            if error:
                await asyncio.sleep(RETRY_PAUSE)

    async def _verifying(self) -> None:
        rng = random.Random()
        while not self._stop.is_set():
            token = rng.choice(self.chains).access_tokens[-1]
            started = time.monotonic()
            error = await self.verify_once(token)
            self.outcomes.append(Outcome("verify", started, time.monotonic(), error))
            if error:
                await asyncio.sleep(RETRY_PAUSE)

    # ---- measuring --------------------------------------------------------------------------------

    async def drained(self, base: str, timeout: float = 30.0) -> None:
        """Until no request to gateway ``base`` is under way (after it left the rotation)."""
        deadline = time.monotonic() + timeout
        while self.in_flight[base] > 0:
            assert time.monotonic() < deadline, f"requests to {base} still under way"
            await asyncio.sleep(0.01)

    def failures(self, since: float = 0.0) -> list[Outcome]:
        return [o for o in self.outcomes if o.error and o.ended >= since]

    async def warm_up(self, timeout: float = 60.0, each: int = 20) -> None:
        """Until every kind has succeeded ``each`` times (the workers are running, the fleet is warm)."""
        deadline = time.monotonic() + timeout
        while True:
            done = Counter(o.kind for o in self.outcomes if not o.error)
            if done["verify"] >= each and done["refresh"] >= each:
                return
            assert time.monotonic() < deadline, f"load not running: {done}, failures {self.failures()[:5]}"
            await asyncio.sleep(0.1)

    async def recovered(self, fault_at: float, *, quiet: float = 3.0, timeout: float = 45.0) -> float:
        """Until ``quiet`` seconds passed without a failure and both kinds succeeded since the last one
        (or ``timeout`` after the fault); returns the recovery time (fault to last failure's end)."""
        while True:
            now = time.monotonic()
            last = max((o.ended for o in self.failures(fault_at)), default=fault_at)
            since = Counter(o.kind for o in self.outcomes if not o.error and o.started > last)
            if now - last >= quiet and since["verify"] > 0 and since["refresh"] > 0:
                return last - fault_at
            if now - fault_at > timeout:
                return last - fault_at
            await asyncio.sleep(0.1)

    def report(self, name: str, fault_at: float, fault_ended: float) -> Report:
        requests = Counter(o.kind for o in self.outcomes)
        errors = Counter(f"{o.kind} {o.error}" for o in self.outcomes if o.error)
        last = max((o.ended for o in self.failures(fault_at)), default=fault_at)
        before = sum(1 for o in self.outcomes if o.error and o.ended < fault_at)
        report = Report(name, requests, errors, last - fault_at, before, fault_ended - fault_at)
        REPORTS.append(report.line())
        print(report.line(), flush=True)
        return report


async def new_chains(system: System, party: Party, count: int) -> list[Chain]:
    """``count`` token pairs of ``party`` (codes written as the contract says, exchanged at the gateway)."""
    chains = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT)) as http:
        for _ in range(count):
            code = await seed_code(system, party)
            form = {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": party.redirect_uri,
                **party.post_auth(),
            }
            async with http.post(system.url("/oauth/token"), data=form) as resp:
                pair = await resp.json()
                assert resp.status == 200, pair
            chains.append(Chain(party, [pair["refresh_token"]], [pair["access_token"]]))
    return chains


class EventTally:
    """Counts the revocation-kind events on the bus while a test runs (there must be none)."""

    def __init__(self) -> None:
        self.kinds: Counter[str] = Counter()

    async def watch(self, nc: NATS) -> None:
        from shared import subjects
        from shared.events import decode_event

        async def on_event(msg: Any) -> None:
            event = decode_event(msg.data)
            if isinstance(event, ev.TokensRevoked | ev.RefreshReused | ev.CodeReused):
                self.kinds[type(event).__name__] += 1

        await nc.subscribe(subjects.EVENTS_ALL, cb=on_event)
        await nc.flush()


_decode_refresh = msgspec.json.Decoder(RefreshTokenRecord).decode


async def chain_problems(load: Load, system: System) -> list[str]:
    """Every chain still works and Redis holds exactly what was issued: one more refresh and a
    verification succeed; the family's stored refresh tokens are exactly the chain's (none lost, none
    minted twice), one of them current; no token appears in two chains."""
    problems: list[str] = []
    seen: Counter[str] = Counter()
    for i, chain in enumerate(load.chains):
        problems += [f"chain {i}: {p}" for p in chain.problems]
        error = await load.refresh_once(chain)
        if error:
            problems.append(f"chain {i}: a refresh after the fault failed: {error}")
        error = await load.verify_once(chain.access_tokens[-1])
        if error:
            problems.append(f"chain {i}: its newest access token is not active: {error}")
        stored = [k async for k in system.redis.scan_iter(match=f"{P}:{{f:{chain.family}}}:rt:*", count=1000)]
        if len(stored) != len(chain.refresh_tokens):
            problems.append(
                f"chain {i}: {len(chain.refresh_tokens)} refresh tokens issued, {len(stored)} stored"
            )
        current = 0
        for key in stored:
            raw = await system.redis.get(key)
            if raw is not None and not _decode_refresh(raw).rotated_at:
                current += 1
        if current != 1:
            problems.append(f"chain {i}: {current} current refresh tokens (one expected)")
        seen.update(chain.refresh_tokens)
        seen.update(chain.access_tokens)
    twice = [token[:14] for token, n in seen.items() if n > 1]
    if twice:
        problems.append(f"{len(twice)} tokens issued to two chains")
    return problems
