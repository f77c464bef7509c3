"""The signing key set in Redis: the only module that writes ``keys.signing_keys()``.

Contract: the set is created once (SET NX: replicas starting together each make a candidate, one
wins, every one then uses the winner's) and replaced only by compare-and-set
(``lua/signing_keys_swap.lua``), so concurrent rotations never lose a key. Private keys are in it only
sealed (``shared.signing.keyset``). Anyone may read it (the gateway's JWKS, ``id_token_hint`` checks);
the token service is the one writer (at start, and for ``mavio-oauth keys rotate``).
"""

from __future__ import annotations

import asyncio

from shared import keys
from shared.script_runner import LuaScript, ScriptRunner
from shared.sealing import Sealer
from shared.signing.keyset import KeySet, decode_keyset, encode_keyset, initial, rotated
from shared.store import Redis

_SWAP = LuaScript.load("shared.signing", "signing_keys_swap")
_ROTATE_TRIES = 5


class SigningKeyStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._scripts = ScriptRunner(redis)

    async def load(self) -> KeySet | None:
        raw = await self._redis.get(keys.signing_keys())
        return None if raw is None else decode_keyset(raw)

    async def ensure(self, *, now: int, sealer: Sealer) -> KeySet:
        """The key set, made at the first start when there is none (one writer wins: SET NX)."""
        found = await self.load()
        if found is not None:
            return found
        candidate = await asyncio.to_thread(initial, now=now, sealer=sealer)  # key generation: off the loop
        await self._redis.set(keys.signing_keys(), encode_keyset(candidate), nx=True)
        won = await self.load()
        assert won is not None  # SET NX succeeded, or another replica's set is there
        return won

    async def rotate(self, *, now: int, id_token_ttl: int, sealer: Sealer) -> KeySet:
        """Every algorithm's next key made current, its current key retired, a new next key made;
        compare-and-set against concurrent rotations (retried on the set a concurrent one left)."""
        for _ in range(_ROTATE_TRIES):
            raw = await self._redis.get(keys.signing_keys())
            if raw is None:
                await self.ensure(now=now, sealer=sealer)
                continue
            new = await asyncio.to_thread(
                rotated, decode_keyset(raw), now=now, id_token_ttl=id_token_ttl, sealer=sealer
            )
            if await self._scripts.run(_SWAP, [keys.signing_keys()], [raw, encode_keyset(new)]):
                return new
        raise RuntimeError("signing keys: too many concurrent rotations")
