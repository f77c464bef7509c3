"""Account operations shared by the bus handlers, the operator CLI and the demo account:
validate -> hash (argon2id, off the event loop) -> store."""

from __future__ import annotations

import asyncio
import time

from shared.accounts.passwords import Passwords
from shared.accounts.records import (
    AccountRecord,
    check_new_account,
    new_user_id,
    normalise_email,
    plan_problem,
)
from shared.accounts.store import AccountStore
from shared.errors import Conflict, InvalidGrant, NotFound, ValidationFailed
from shared.messages.registry import AccountView

GENERIC_SIGN_IN_ERROR = "Incorrect email or password"


class AccountService:
    def __init__(self, store: AccountStore, passwords: Passwords) -> None:
        self.store = store
        self.passwords = passwords

    async def create(self, *, email: str, name: str, plan: str, password: str) -> AccountView:
        """A new account; ``ValidationFailed`` for bad input, ``Conflict`` when the email is taken."""
        email = normalise_email(email)
        name = name.strip()
        check_new_account(email=email, name=name, plan=plan, password=password)
        if await self.store.id_for_email(email) is not None:
            raise Conflict(f"an account with the email {email} already exists")
        hashed = await asyncio.to_thread(self.passwords.hash, password)
        record = AccountRecord(
            id=new_user_id(), email=email, name=name, plan=plan, password=hashed, created_at=int(time.time())
        )
        if not await self.store.insert(record):
            raise Conflict(f"an account with the email {email} already exists")
        return record.view()

    async def authenticate(self, email: str, password: str) -> AccountView:
        """The account for ``email`` + ``password``; one generic ``InvalidGrant`` for any mismatch
        (RFC 6749 §5.2 uses invalid_grant for bad resource-owner credentials)."""
        user_id = await self.store.id_for_email(normalise_email(email)) if email else None
        record = await self.store.get(user_id) if user_id else None
        stored = record.password if record else None
        ok = await asyncio.to_thread(self.passwords.verify, stored, password)
        if record is None or not ok:
            raise InvalidGrant(GENERIC_SIGN_IN_ERROR)
        if self.passwords.needs_rehash(record.password):
            rehashed = await asyncio.to_thread(self.passwords.hash, password)
            await self.store.set_field(record.id, "password", rehashed)
        return record.view()

    async def get(self, user_id: str) -> AccountView:
        record = await self.store.get(user_id)
        if record is None:
            raise NotFound("no such account")
        return record.view()

    async def by_email(self, email: str) -> AccountView:
        user_id = await self.store.id_for_email(normalise_email(email))
        return await self.get(user_id) if user_id else _raise_no_email(email)

    async def set_plan(self, email: str, plan: str) -> tuple[AccountView, str]:
        """Change the plan of the account with ``email``; returns the new view and the old plan."""
        return await self.set_plan_of(await self.by_email(email), plan)

    async def set_plan_by_id(self, user_id: str, plan: str) -> tuple[AccountView, str]:
        return await self.set_plan_of(await self.get(user_id), plan)

    async def set_plan_of(self, account: AccountView, plan: str) -> tuple[AccountView, str]:
        problem = plan_problem(plan)
        if problem is not None:
            raise ValidationFailed({"plan": problem})
        await self.store.set_field(account.id, "plan", plan)
        return await self.get(account.id), account.plan

    async def all(self) -> list[AccountView]:
        return [r.view() for r in await self.store.all()]


def _raise_no_email(email: str) -> AccountView:
    raise NotFound(f"no account with the email {normalise_email(email)}")
