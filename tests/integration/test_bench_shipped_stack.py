"""The bench's harness against the real launcher (``python -m services.stack``, what ``make run`` runs):
every process of the stack found and named for its CPU, the demo user feeding it over HTTP only (sign
in, apps registered through the JSON API, consent once, codes from the remembered consent, refresh
tokens from exchanged codes), and SIGTERM ending in ``mavio: stopped`` with every process gone."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from bench.http_user import OIDC_SCOPE, User
from bench.shipped import SUPERVISOR, ShippedStack, descendants
from shared import subjects
from shared.apps.settings import CONFIDENTIAL, PUBLIC


@pytest.fixture(scope="module")
def shipped() -> Iterator[ShippedStack]:
    stack = ShippedStack.start("mavio", replicas={"token": 2})
    try:
        stack.wait_ready()
        yield stack
    finally:
        if stack.proc.poll() is None:
            stack.proc.kill()
            stack.proc.wait(30)
        stack.root.cleanup()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_every_process_of_the_stack_is_found_and_named(shipped: ShippedStack) -> None:
    expected = {SUPERVISOR, "nats-server", "redis-server", "gateway", "token-1", "token-2"}
    expected |= {f"{service}-1" for service in subjects.SERVICES}
    assert set(shipped.pids) == expected
    assert shipped.pids[SUPERVISOR] == shipped.proc.pid
    assert set(descendants(shipped.proc.pid)) == set(shipped.pids.values()) - {shipped.proc.pid}
    assert all(_alive(pid) for pid in shipped.pids.values())


async def test_the_demo_user_feeds_it_over_http(shipped: ShippedStack) -> None:
    user = User(shipped.base)
    try:
        await user.sign_in()
        confidential = await user.register("Bench", CONFIDENTIAL)
        public = await user.register("Bench public", PUBLIC)
        assert confidential.secret and not public.secret
        for app in (confidential, public):
            await user.consent(app)
        codes = await user.codes(confidential, 30)  # in parallel, from the remembered consent
        assert len({code for code, _ in codes}) == 30
        oidc = await user.codes(confidential, 3, scope=OIDC_SCOPE)
        tokens = [*await user.refresh_tokens(public, 5), await user.exchange(confidential, *oidc[0])]
        assert all(t.startswith("mavio_rt_") for t in tokens) and len(set(tokens)) == 6
    finally:
        await user.close()


def test_sigterm_stops_it_with_mavio_stopped_last(shipped: ShippedStack) -> None:
    pids = list(shipped.pids.values())
    root = shipped.root.name
    out = shipped.stop()
    assert out.strip().splitlines()[-1] == "mavio: stopped"
    assert not any(_alive(pid) for pid in pids)
    assert not os.path.exists(root)
