"""``shared.store.make_redis`` on a real redis-server: commands packed by hiredis, values intact."""

from __future__ import annotations

from shared.redis_packing import HiredisConnection, HiredisUnixConnection
from shared.store import make_redis
from tests.support.system import System


async def test_make_redis_packs_with_hiredis_and_every_value_comes_back(system: System) -> None:
    redis = make_redis(system.settings)
    try:
        assert redis.connection_pool.connection_class in (HiredisConnection, HiredisUnixConnection)
        values = {"test:pack:text": "café ☕", "test:pack:bytes": b"\x00\xff\r\n", "test:pack:int": 2**62}
        async with redis.pipeline(transaction=False) as pipe:
            for key, value in values.items():
                pipe.set(key, value, ex=60)
            pipe.mget(list(values))
            *_, got = await pipe.execute()
        assert got == ["café ☕".encode(), b"\x00\xff\r\n", str(2**62).encode()]
        assert await redis.eval("return ARGV[1] .. #KEYS", 1, "test:pack:text", "n=") == b"n=1"
    finally:
        await redis.aclose()
