"""Mavio's sides of the HTTP scenarios: the stack as ``make run`` starts it (``bench.shipped``), fed
through HTTP only (``bench.http_user``), and the breakdown rows beside it, refresh only:

- ``mavio log=warning``: a second shipped stack, started the same way with ``MAVIO_LOG_LEVEL=warning``
  (what the request log at info costs);
- ``mavio bench-only``: the stack the bench used to assemble for itself (``bench.bench_only.prepare_mavio``:
  gateway, token and registry only, log level warning, unauthenticated servers, codes written straight
  into Redis): a finding, the cost of the shipped configuration measured, not a figure to compare."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator, Iterator

from bench.http_scenarios import TokenEndpoint
from bench.http_user import OIDC_SCOPE, REDIRECT, App, User
from bench.interleave import Side
from bench.shipped import ShippedStack, start_all
from shared.apps.settings import CONFIDENTIAL, PUBLIC
from shared.config import replicas

SHIPPED = "mavio"
PUBLIC_SIDE = "mavio public"
WARNING_SIDE = "mavio log=warning"


def replicas_asked(a: argparse.Namespace) -> dict[str, int]:
    """``--gateways`` / ``--http-tokens`` as a user says it: ``MAVIO_<SERVICE>_REPLICAS``, only when
    they differ from ``make run``'s default (``shared.config.replicas``)."""
    asked = {"gateway": a.gateways, "token": a.http_tokens}
    return {service: n for service, n in asked.items() if n != replicas({}, service)}


@contextlib.contextmanager
def shipped_stacks(a: argparse.Namespace) -> Iterator[list[ShippedStack]]:
    """The shipped stack (and, unless ``--no-breakdown``, the one at log level warning), started side by
    side, ready; each stopped with SIGTERM on exit (which must end in ``mavio: stopped``)."""
    stacks = [ShippedStack.start(SHIPPED, replicas=replicas_asked(a))]
    try:
        if not a.no_breakdown:
            extra = {"MAVIO_LOG_LEVEL": "warning"}
            stacks.append(ShippedStack.start(WARNING_SIDE, replicas=replicas_asked(a), extra=extra))
        start_all(stacks)
        for stack in stacks:
            print(f"{stack.label}: make run's processes: {', '.join(stack.pids)}", flush=True)
        yield stacks
    finally:
        failures = []
        for stack in stacks:
            try:
                stack.stop()
            except Exception as exc:
                failures.append(str(exc))
        if failures:
            raise RuntimeError("; ".join(failures))


def user_side(name: str, stack: ShippedStack, user: User, app: App, *, refresh_only: bool = False) -> Side:
    endpoint = TokenEndpoint(f"{stack.base}/oauth/token", app.client_id, app.secret, REDIRECT, stack.pids)

    async def mint(n: int) -> list[str]:
        return await user.refresh_tokens(app, n)

    async def codes(n: int) -> list[tuple[str, str]]:
        return await user.codes(app, n)

    async def oidc_codes(n: int) -> list[tuple[str, str]]:
        return await user.codes(app, n, scope=OIDC_SCOPE)

    return Side(name, endpoint, mint, codes, oidc_codes, refresh_only=refresh_only)


async def _fed(stack: ShippedStack, kinds: list[tuple[str, str]]) -> tuple[User, list[App]]:
    """The demo user signed in on ``stack``, an app of each (name, client type) registered and
    consented to once."""
    user = User(stack.base)
    await user.sign_in()
    apps = [await user.register(name, client_type) for name, client_type in kinds]
    for app in apps:
        await user.consent(app)
    return user, apps


@contextlib.asynccontextmanager
async def user_sides(stacks: list[ShippedStack]) -> AsyncIterator[list[Side]]:
    """The shipped stack's confidential and public sides, and a confidential side per breakdown stack;
    each stack's user session closed on exit."""
    users: list[User] = []
    try:
        main, extras = stacks[0], stacks[1:]
        user, (confidential, public) = await _fed(main, [("Bench", CONFIDENTIAL), ("Bench public", PUBLIC)])
        users.append(user)
        sides = [user_side(SHIPPED, main, user, confidential)]
        sides.append(user_side(PUBLIC_SIDE, main, user, public, refresh_only=True))
        for stack in extras:
            user, (app,) = await _fed(stack, [("Bench", CONFIDENTIAL)])
            users.append(user)
            sides.append(user_side(stack.label, stack, user, app, refresh_only=True))
        yield sides
    finally:
        for user in users:
            await user.close()
