"""Account creation races: one email, one account; the loser leaves nothing behind."""

from __future__ import annotations

import asyncio

from shared import keys
from shared.accounts.passwords import Passwords
from shared.accounts.service import AccountService
from shared.accounts.store import RedisAccountStore
from shared.errors import Conflict
from tests.support.factories import unique_email
from tests.support.system import System


async def test_concurrent_sign_ups_with_one_email_make_one_account(system: System) -> None:
    accounts = AccountService(RedisAccountStore(system.redis), Passwords())
    email = unique_email("race")

    async def sign_up(i: int) -> str:
        try:
            view = await accounts.create(
                email=email, name=f"Racer {i}", plan="free", password="a long password"
            )
        except Conflict:
            return ""
        return view.id

    ids = [i for i in await asyncio.gather(*(sign_up(n) for n in range(6))) if i]
    assert len(ids) == 1
    assert (await system.redis.get(keys.account_by_email(email))).decode() == ids[0]
    records = [k async for k in system.redis.scan_iter(match=keys.account("*"))]
    owners = [await system.redis.hget(k, "email") for k in records]
    assert owners.count(email.encode()) == 1  # the losers' records were removed
