"""``shared.redis_packing``: hiredis packs every command byte for byte as redis-py would, and whatever
it is not sure of goes to redis-py (its encoding, its errors)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis.asyncio.connection import Connection, SSLConnection, UnixDomainSocketConnection
from redis.exceptions import DataError

from shared.redis_packing import HiredisConnection, with_hiredis_packing

ARG = st.one_of(st.binary(max_size=300), st.text(max_size=200), st.integers(-(2**63), 2**63 - 1))


def _both(*args: object) -> tuple[bytes, bytes]:
    return b"".join(HiredisConnection().pack_command(*args)), b"".join(Connection().pack_command(*args))


@given(name=st.sampled_from(["EVALSHA", b"EVALSHA", "GET", "mget"]), args=st.lists(ARG, max_size=40))
def test_hiredis_packs_exactly_as_redis_py(name: object, args: list[object]) -> None:
    fast, slow = _both(name, *args)
    assert fast == slow


@pytest.mark.parametrize(
    "args",
    [
        ("SCRIPT LOAD", "return 1"),  # a spaced name: split into words
        (b"CONFIG GET", b"maxmemory"),
        ("SET", "k", 1.5),  # floats: redis-py's repr
        ("SET", "k", memoryview(b"abc")),
        ("SET", "k", "\udc80".encode("utf-8", "surrogatepass")),
        ("SET", "k", 2**70),
    ],
)
def test_what_takes_the_slow_path_packs_the_same(args: tuple[object, ...]) -> None:
    fast, slow = _both(*args)
    assert fast == slow


@pytest.mark.parametrize("bad", [True, None, object()])
def test_values_redis_py_refuses_are_still_refused(bad: object) -> None:
    with pytest.raises(DataError):
        HiredisConnection().pack_command("SET", "k", bad)


def test_every_url_kind_gets_its_hiredis_variant() -> None:
    for cls in (Connection, SSLConnection, UnixDomainSocketConnection):
        packing = with_hiredis_packing(cls)
        assert packing is not cls and issubclass(packing, cls)
        assert packing.pack_command is HiredisConnection.pack_command
    assert with_hiredis_packing(HiredisConnection) is HiredisConnection
