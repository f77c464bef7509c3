"""The token service's signing keys in memory: the current key of each algorithm, opened once.

At start the key set is loaded, or made when there is none (``SigningKeyStore.ensure``: one writer
wins when replicas start together). ``rotate`` (``mavio-oauth keys rotate``) replaces the set in Redis
and announces it (``events.signing_keys.rotated``); every replica, hearing it, loads the new current
keys at once. A reload every ``RELOAD_EVERY`` seconds catches an announcement lost in a reconnect.
The private keys live only here (opened from their seals) and in Redis sealed; never logged.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Final

import msgspec
import structlog
from joserfc import jwt
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from shared import subjects
from shared.messages.token import SigningKeyInfo, SigningKeysReply, SigningKeysRotated
from shared.sealing import Sealer, SealError
from shared.signing.keyset import ALGS, Alg, KeySet, SigningKey, current, open_private, still_valid
from shared.signing.store import SigningKeyStore
from shared.store import UNAVAILABLE
from shared.tasks import cancel_and_wait, retry_at_start

log = structlog.get_logger("mavio.token")
RELOAD_EVERY: Final = 60.0


class Keyring:
    def __init__(self, store: SigningKeyStore, sealer: Sealer, *, id_token_ttl: int) -> None:
        self._store = store
        self._sealer = sealer
        self._ttl = id_token_ttl
        self._signing: dict[Alg, tuple[str, SigningKey]] = {}
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:  # never show key material
        return f"Keyring(kids={self.kids()})"

    def kids(self) -> list[str]:
        return [kid for kid, _ in self._signing.values()]

    async def start(self) -> None:
        """The signing keys from Redis (made at the very first start), asked again while Redis is not
        reachable yet (a container started before it): a warning line each, never a crash."""

        async def ensure() -> KeySet:
            return await self._store.ensure(now=int(time.time()), sealer=self._sealer)

        self._use(await retry_at_start("redis (signing keys)", ensure, retry_on=UNAVAILABLE))
        self._task = asyncio.create_task(self._reload_forever(), name="signing-keys-reload")

    async def close(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)

    def sign(self, claims: dict[str, Any], alg: Alg) -> str:
        """A JWS (compact) of ``claims`` by the current ``alg`` key, header ``alg``, ``kid``, ``typ``."""
        kid, key = self._signing[alg]
        return jwt.encode({"alg": alg, "kid": kid, "typ": "JWT"}, claims, key, algorithms=[alg])

    async def reload(self) -> None:
        keyset = await self._store.load()
        if keyset is not None:
            self._use(keyset)

    async def rotate(self) -> KeySet:
        keyset = await self._store.rotate(now=int(time.time()), id_token_ttl=self._ttl, sealer=self._sealer)
        self._use(keyset)
        return keyset

    async def listing(self) -> SigningKeysReply:
        keyset = await self._store.load()
        now = int(time.time())
        records = keyset.keys if keyset is not None else []
        return SigningKeysReply(
            keys=[
                SigningKeyInfo(
                    kid=r.kid,
                    alg=r.alg,
                    state=r.state,
                    created_at=r.created_at,
                    retired_at=r.retired_at,
                    published=still_valid(r, now=now, id_token_ttl=self._ttl),
                )
                for r in records
            ]
        )

    async def watch(self, nc: NATS) -> Subscription:
        """Every replica (no queue group) hears a rotation and loads the new current keys."""

        async def on_rotated(msg: Msg) -> None:
            try:
                msgspec.json.decode(msg.data, type=SigningKeysRotated)
                await self.reload()
            except Exception as exc:  # the periodic reload catches up
                log.error("signing keys not reloaded", debug=repr(exc))

        return await nc.subscribe(subjects.EVENT_SIGNING_KEYS_ROTATED, cb=on_rotated)

    def _use(self, keyset: KeySet) -> None:
        for alg in ALGS:
            record = current(keyset, alg)
            if record is None:
                continue
            held = self._signing.get(alg)
            if held is None or held[0] != record.kid:
                try:
                    self._signing[alg] = (record.kid, open_private(record, self._sealer))
                except SealError:
                    raise RuntimeError(
                        f"signing key {record.kid} does not open: sealed under another "
                        "MAVIO_KEY_ENCRYPTION_KEY (docs/operations.md: Signing keys and rotation)"
                    ) from None
                log.info("signing key in use", alg=alg, kid=record.kid)

    async def _reload_forever(self) -> None:
        while True:
            await asyncio.sleep(RELOAD_EVERY)
            try:
                await self.reload()
            except Exception as exc:
                log.warning("signing keys not reloaded", debug=repr(exc))
