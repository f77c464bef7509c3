"""Redis commands packed by hiredis's C serializer instead of redis-py's asyncio one, which builds each
command in Python (a grant pipeline is a few dozen arguments: ~12 % of the token service's CPU per code
exchange went there).

Only the argument types whose encoding the two agree on byte for byte take the fast path: ``bytes``,
``str`` (UTF-8) and ``int`` (not ``bool``: redis-py refuses it). Anything else (floats, memoryviews,
bools, ``None``) and anything hiredis refuses goes through redis-py's own packing, which encodes it or
raises its usual ``DataError``.
"""

from __future__ import annotations

from typing import Any, Final

import hiredis
from redis.asyncio.connection import AbstractConnection, Connection, SSLConnection, UnixDomainSocketConnection

_FAST: frozenset[type] = frozenset({bytes, str, int})


class _HiredisPacking:
    def pack_command(self, *args: Any) -> list[bytes]:
        if _fast(args):
            try:
                return [hiredis.pack_command(args)]
            except Exception:  # noqa: S110 - redis-py packs it instead, or raises its own error
                pass
        return super().pack_command(*args)  # type: ignore[misc,no-any-return]


def _fast(args: tuple[Any, ...]) -> bool:
    if not args or not all(type(a) in _FAST for a in args):
        return False
    name = args[0]  # a name with a space ("SCRIPT LOAD") goes as separate words: redis-py splits it
    if type(name) is str:
        return " " not in name
    return type(name) is bytes and b" " not in name


class HiredisConnection(_HiredisPacking, Connection):
    pass


class HiredisSSLConnection(_HiredisPacking, SSLConnection):
    pass


class HiredisUnixConnection(_HiredisPacking, UnixDomainSocketConnection):
    pass


_PACKING: Final[dict[type[AbstractConnection], type[AbstractConnection]]] = {
    Connection: HiredisConnection,
    SSLConnection: HiredisSSLConnection,
    UnixDomainSocketConnection: HiredisUnixConnection,
}


def with_hiredis_packing(cls: type[AbstractConnection]) -> type[AbstractConnection]:
    """The hiredis-packing variant of ``cls`` (the class a redis URL chose: TCP, TLS or Unix socket);
    any other class unchanged."""
    return _PACKING.get(cls, cls)
