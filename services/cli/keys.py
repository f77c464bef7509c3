"""``mavio-oauth keys list`` and ``mavio-oauth keys rotate``: the OpenID Connect signing keys.

Both ask the token service on the bus (``mavio.oauth.v1.token.keys.list|rotate``), the key set's one
writer: a rotation is done by one token replica (compare-and-set in Redis) and announced, so every
replica signs with the new current keys at once. Key ids, algorithms and states only: never any key
material.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from services.cli.connect import connect_bus
from shared import subjects
from shared.bus import Bus
from shared.config import Settings
from shared.messages.token import SigningKeysReply, SigningKeysRequest

Table = Callable[[Sequence[tuple[str, ...]], tuple[str, ...]], str]
# Generating an RSA key can take a moment on a busy replica: more than the usual bus timeout.
ROTATE_TIMEOUT = 30.0


async def signing_keys(settings: Settings, command: str, table: Table) -> str:
    subject = subjects.TOKEN_KEYS_ROTATE if command == "rotate" else subjects.TOKEN_KEYS_LIST
    nc = await connect_bus(settings)
    try:
        bus = Bus(nc, timeout=max(settings.bus_timeout, ROTATE_TIMEOUT))
        reply = await bus.request(subject, SigningKeysRequest(), SigningKeysReply)
    finally:
        await nc.close()
    rows = [
        (k.kid, k.alg, k.state, _date(k.created_at), _date(k.retired_at), "yes" if k.published else "no")
        for k in reply.keys
    ]
    out = table(rows, ("KID", "ALG", "STATE", "CREATED", "RETIRED", "IN JWKS"))
    return f"rotated: the next keys are current on every token replica\n{out}" if command == "rotate" else out


def _date(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M") if epoch else "-"
