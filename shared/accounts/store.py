"""Accounts in Redis: the only module that reads or writes account keys.

Contract: ``keys.account_by_email(email)`` is claimed with SET NX before the account hash is
written, so two concurrent sign-ups with one email cannot both succeed. Emails are stored
normalised (``accounts.normalise_email``).
"""

from __future__ import annotations

from typing import Protocol

from shared import keys
from shared.accounts.records import AccountRecord
from shared.store import Redis

_FIELDS = ("id", "email", "name", "plan", "password", "created_at")


class AccountStore(Protocol):
    async def insert(self, record: AccountRecord) -> bool:
        """Store a new account; False (and nothing written) when its email is taken."""

    async def get(self, user_id: str) -> AccountRecord | None: ...

    async def id_for_email(self, email: str) -> str | None: ...

    async def set_field(self, user_id: str, field: str, value: str) -> None:
        """Change one field (``plan`` or ``password``) of an existing account."""

    async def all(self) -> list[AccountRecord]: ...


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _record(raw: dict[bytes | str, bytes | str]) -> AccountRecord | None:
    data = {_text(k): _text(v) for k, v in raw.items()}
    if not data.get("id"):
        return None
    return AccountRecord(
        id=data["id"],
        email=data.get("email", ""),
        name=data.get("name", ""),
        plan=data.get("plan", "free"),
        password=data.get("password", ""),
        created_at=int(data.get("created_at") or 0),
    )


class RedisAccountStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def insert(self, record: AccountRecord) -> bool:
        # The record first, then the email claim: a crash in between leaves an unreachable record
        # under a fresh random id, never an email claimed by an account that does not exist.
        mapping = {f: str(getattr(record, f)) for f in _FIELDS}
        await self._redis.hset(keys.account(record.id), mapping=mapping)
        if not await self._redis.set(keys.account_by_email(record.email), record.id, nx=True):
            await self._redis.delete(keys.account(record.id))
            return False
        await self._redis.sadd(keys.accounts_all(), record.id)
        return True

    async def get(self, user_id: str) -> AccountRecord | None:
        return _record(await self._redis.hgetall(keys.account(user_id)))

    async def id_for_email(self, email: str) -> str | None:
        raw = await self._redis.get(keys.account_by_email(email))
        return None if raw is None else _text(raw)

    async def set_field(self, user_id: str, field: str, value: str) -> None:
        if field not in ("plan", "password", "name"):
            raise ValueError(f"field {field!r} cannot be changed")
        await self._redis.hset(keys.account(user_id), field, value)

    async def all(self) -> list[AccountRecord]:
        ids = sorted(_text(i) for i in await self._redis.smembers(keys.accounts_all()))
        records = [await self.get(user_id) for user_id in ids]
        return [r for r in records if r is not None]
