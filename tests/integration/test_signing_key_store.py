"""The signing key set's one writer on a real Redis: replicas starting together agree on one set (SET
NX), concurrent rotations each take effect without losing a key (compare-and-set), and a key set made
under another key-encryption key does not open."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import msgspec
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from shared.id_token_check import verify_ignoring_expiry
from shared.sealing import Sealer, SealError
from shared.signing.keyset import ALGS, current, open_private
from shared.signing.store import SigningKeyStore
from tests.support.system import System, running_system

SEALER = Sealer(b"s" * 32)


@pytest.fixture(scope="module")
async def bare() -> AsyncIterator[System]:
    async with running_system(services=(), gateway=False) as system:  # an empty Redis of its own
        yield system


async def test_replicas_starting_together_agree_on_one_key_set(bare: System) -> None:
    stores = [SigningKeyStore(bare.redis) for _ in range(4)]
    sets = await asyncio.gather(*(s.ensure(now=1000, sealer=SEALER) for s in stores))
    assert all(s == sets[0] for s in sets)
    assert sorted((r.alg, r.state) for r in sets[0].keys) == sorted(
        (alg, state) for alg in ALGS for state in ("current", "next")
    )
    assert await stores[0].load() == sets[0]


async def test_concurrent_rotations_each_take_effect_and_lose_no_key(bare: System) -> None:
    store = SigningKeyStore(bare.redis)
    start = await store.ensure(now=1000, sealer=SEALER)
    await asyncio.gather(*(store.rotate(now=2000, id_token_ttl=3600, sealer=SEALER) for _ in range(3)))
    after = await store.load()
    assert after is not None
    by_kid = {r.kid: r for r in after.keys}
    for record in start.keys:  # three rotations: each first current and next key now retired
        assert by_kid[record.kid].state == "retired"
    for alg in ALGS:
        states = sorted(r.state for r in after.keys if r.alg == alg)
        assert states == ["current", "next", "retired", "retired", "retired"]
        key = current(after, alg)
        assert key is not None and open_private(key, SEALER)
        with pytest.raises(SealError):
            open_private(key, Sealer(b"t" * 32))


async def test_the_authorize_sides_seam_checks_hints_against_the_stored_keys(bare: System) -> None:
    """``shared.id_token_check.verify_ignoring_expiry`` (the gateway's ``id_token_hint`` check) reads the
    key set from Redis: a hint signed by a published key verifies even long expired; another issuer's,
    or one signed by a key Mavio does not have, names nobody."""
    settings = bare.settings
    keyset = await SigningKeyStore(bare.redis).ensure(now=int(time.time()), sealer=SEALER)
    record = current(keyset, "ES256")
    assert record is not None
    claims = {"iss": settings.public_url, "sub": "usr_2", "aud": "app", "exp": 1, "iat": 0}
    token = jwt.encode({"alg": "ES256", "kid": record.kid}, claims, open_private(record, SEALER))
    assert await verify_ignoring_expiry(bare.redis, settings, token) == claims
    other = msgspec.structs.replace(settings, public_url="https://elsewhere.example")
    assert await verify_ignoring_expiry(bare.redis, other, token) is None
    stranger = ECKey.generate_key("P-256", parameters={"kid": record.kid}, private=True)
    forged = jwt.encode({"alg": "ES256", "kid": record.kid}, claims, stranger)
    assert await verify_ignoring_expiry(bare.redis, settings, forged) is None
