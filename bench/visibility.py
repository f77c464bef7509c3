"""Revocation visible in every cache (issue 10, goal 4): ``caches`` resource servers, each a
``shared.verify_client.TokenVerifier`` with its event-evicted cache on its own bus connection, hold a
token; the user revokes the grant (``revocation.grant.revoke``, as the Connected apps page does); from
the revoke reply, each cache is polled until it rejects the token. The figure is that time, over every
cache and every revocation (a rejection already there at the reply counts as 0). ``Caches`` is shared
with the leak-report scenario (``bench.leak_visibility``)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import nats
from nats.aio.client import Client as NATS

from bench.measures import Measure, pct
from shared import subjects
from shared.bus import Bus
from shared.messages.revocation import RevokeGrantReply, RevokeGrantRequest
from shared.verify_client import TokenVerifier

GIVE_UP = 2.0  # seconds: a cache still accepting the token by then counts as a miss


async def until_rejected(verifier: TokenVerifier, token: str, since: float) -> float | None:
    while (elapsed := time.perf_counter() - since) < GIVE_UP:
        if not (await verifier.verify(token)).active:
            return max(0.0, elapsed)
        await asyncio.sleep(0)  # let the event (and the other caches' polls) in
    return None


@dataclass
class Caches:
    """Verification caches on their own connections, and how long each took to reject a token."""

    conns: list[NATS]
    verifiers: list[TokenVerifier]
    times: list[float] = field(default_factory=list)  # milliseconds
    misses: int = 0

    @classmethod
    async def open(cls, nats_url: str, count: int) -> Caches:
        conns = [await nats.connect(nats_url) for _ in range(count)]
        caches = cls(conns, [TokenVerifier(nc, cache_ttl=300) for nc in conns])
        for v in caches.verifiers:
            await v.start()
        return caches

    async def hold(self, token: str) -> None:
        """Every cache verifies (and so holds) ``token`` before it is revoked."""
        for v in self.verifiers:
            if not (await v.verify(token)).active:
                raise RuntimeError("a seeded token is not active")

    async def time_rejection(self, token: str, since: float) -> None:
        seen = await asyncio.gather(*(until_rejected(v, token, since) for v in self.verifiers))
        self.misses += sum(s is None for s in seen)
        self.times += [s * 1000 for s in seen if s is not None]

    async def close(self) -> None:
        for v in self.verifiers:
            await v.close()
        for nc in self.conns:
            await nc.drain()

    def measure(self, scenario: str, label: str, what: str, count: int) -> Measure:
        """The p50/p99 over every cache and every ``what`` (printed as ``label``)."""
        times, caches, misses = sorted(self.times), len(self.verifiers), self.misses
        p50, p99 = pct(times, 50), pct(times, 99)
        print(f"  [{label}] p50 {p50:.2f} ms  p99 {p99:.2f} ms  misses {misses}", flush=True)
        return Measure(
            scenario,
            f"p99 {p99:.1f} ms (p50 {p50:.1f}) over {count} {what} x {caches} caches, {misses} missed",
            "p99 ≤ 50 ms",
            misses == 0 and p99 <= 50.0,
            {"p50_ms": p50, "p99_ms": p99, what: count, "caches": caches, "misses": misses},
        )


async def revocation_visibility(
    nats_url: str, grants: list[tuple[str, str, str]], *, caches: int = 3
) -> Measure:
    """``grants``: (client id, user id, access token), one grant each, all of them revoked here."""
    nc = await nats.connect(nats_url)
    bus = Bus(nc, timeout=5)
    held = await Caches.open(nats_url, caches)
    try:
        for client_id, user_id, token in grants:
            await held.hold(token)
            req = RevokeGrantRequest(user_id=user_id, client_id=client_id)
            reply = await bus.request(subjects.REVOCATION_REVOKE_GRANT, req, RevokeGrantReply)
            replied = time.perf_counter()
            if reply.families_revoked != 1:
                raise RuntimeError(f"revoked {reply.families_revoked} families, not 1")
            await held.time_rejection(token, replied)
    finally:
        await held.close()
        await nc.drain()
    return held.measure(
        "revocation visible in every verify_client cache", "revocation visibility", "revocations", len(grants)
    )
