"""Account creation races: one email, one account; the loser leaves nothing behind."""

from __future__ import annotations

import asyncio
from typing import Literal

import pytest
from argon2 import PasswordHasher, extract_parameters

from shared import keys
from shared.accounts.passwords import Passwords
from shared.accounts.service import AccountService
from shared.accounts.store import RedisAccountStore
from shared.errors import Conflict, InvalidGrant
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


class _CountingHasher(PasswordHasher):
    """A real Argon2 hasher that records the parameters of every hash it verifies against."""

    def __init__(self) -> None:
        super().__init__()
        self.verified: list[tuple[int, int, int]] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        params = extract_parameters(hash if isinstance(hash, str) else hash.decode())
        self.verified.append((params.time_cost, params.memory_cost, params.parallelism))
        return super().verify(hash, password)


async def test_an_unknown_email_costs_the_same_argon2_work_as_a_wrong_password(system: System) -> None:
    """No timing: the unknown email runs one Argon2 verification with the very parameters a real
    account's wrong password does, so the two cannot be told apart by the work done."""
    hasher = _CountingHasher()
    accounts = AccountService(RedisAccountStore(system.redis), Passwords(hasher))
    email = unique_email("timing")
    await accounts.create(email=email, name="Timing", plan="free", password="the right password")
    for who in (email, unique_email("nobody"), ""):
        hasher.verified.clear()
        with pytest.raises(InvalidGrant):
            await accounts.authenticate(who, "definitely wrong")
        assert hasher.verified == [(hasher.time_cost, hasher.memory_cost, hasher.parallelism)], who
