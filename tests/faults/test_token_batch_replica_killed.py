"""kill -9 the token replica holding a ``token.exchange_many`` batch: every request of that batch gets the
clear 503 ``temporarily_unavailable`` a single request gets (the gateway's bus timeout), never a 500 or a
wrong answer; the replica rotated nothing, so the same refresh tokens work again on its successor."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import pytest

from tests.support.fleet import running_fleet
from tests.support.polling import eventually
from tests.support.token_batches import watching
from tests.support.token_flow import new_party, tokens_for

pytestmark = [pytest.mark.fault, pytest.mark.timeout(300)]  # a fleet starting on a loaded machine

REQUESTS = 6


async def test_kill_9_the_token_replica_holding_a_batch() -> None:
    async with running_fleet({"token": 1}, {"MAVIO_BUS_TIMEOUT": "2"}) as fleet:
        system = fleet.system
        party = await new_party(system)
        chains = [(await tokens_for(system, party))["refresh_token"] for _ in range(REQUESTS)]

        async def refresh(token: str, request_id: str) -> tuple[int, dict[str, Any]]:
            form = {"grant_type": "refresh_token", "refresh_token": token, **party.post_auth()}
            headers = {"X-Request-Id": request_id}
            async with system.http.post(system.url("/oauth/token"), data=form, headers=headers) as resp:
                return resp.status, await resp.json()

        victim = fleet.replicas("token")[0]
        async with watching(system.nc) as seen:
            os.kill(victim.proc.pid, signal.SIGSTOP)  # it takes the batch and never answers
            try:
                ids = [f"killed-{i}" for i in range(REQUESTS)]
                asked = [asyncio.create_task(refresh(t, rid)) for t, rid in zip(chains, ids, strict=True)]

                async def sent() -> list[str]:
                    batched = [rid for batch in seen.batch_ids("killed-") for rid in batch]
                    return sorted([*batched, *seen.single_ids("killed-")])

                await eventually(sent, lambda found: found == sorted(ids))
                assert seen.batch_ids("killed-"), "no batch was sent"
            finally:
                await fleet.kill(victim)  # SIGKILL ends a stopped process too
            answers = await asyncio.gather(*asked)
        assert [(status, body["error"]) for status, body in answers] == [
            (503, "temporarily_unavailable")
        ] * REQUESTS, answers

        fleet.spawn("token")
        await fleet.wait_new_instance("token")
        again = await asyncio.gather(*(refresh(t, f"again-{i}") for i, t in enumerate(chains)))
        assert [status for status, _ in again] == [200] * REQUESTS, again
