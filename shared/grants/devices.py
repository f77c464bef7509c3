"""RFC 8628 device authorizations: started by token, found and decided by authorize, polled by token.

The device code is a family token (``mavio_dc_``, ``shared.tokens``): its family routes every key of
the authorization to one slot. The user code is kept only as an HMAC (``keys.user_code``) naming the
device authorization. A poll is one script in the family's slot (``lua/device_poll.lua``); the decision
is one script there too (``lua/device_decide.lua``), after the family is indexed among the app's
pending codes, so revocations reach an approved device authorization as they reach any code.
"""

from __future__ import annotations

from typing import Any

import msgspec

from shared.grants import keys
from shared.grants.base import GrantStoreBase, text
from shared.grants.codes import taken_or_refused
from shared.grants.family import family_keys
from shared.grants.records import CodeRecord, DeviceRecord
from shared.grants.scripts import script
from shared.grants.storage import CodeTaken, DeviceEnded, DevicePending, FoundDevice, PollOutcome

_POLL = script("device_poll")
_DECIDE = script("device_decide")
_STARTED = "pending"
# A poll up to this much sooner than the interval after the previous one is not "too fast": a device
# that waits its interval can still meet the server's queues a few hundred milliseconds apart.
TOLERANCE_MS = 1000


class RedisDevices(GrantStoreBase):
    async def start_device(
        self, device_sig: str, user_sig: str, record: DeviceRecord, *, interval: int
    ) -> bool:
        """Store a device authorization and its user code, both with the TTL; False (nothing stored)
        when the user code is already taken by another pending authorization (draw another)."""
        ttl = record.expires_at - record.requested_at
        value = f"{record.family} {device_sig}"
        if not await self._redis.set(keys.user_code(user_sig), value, ex=ttl, nx=True):
            return False
        # Indexed as the app's pending codes are (entries a minute past their expiry trimmed), so that
        # revoking all of the app's tokens or deleting it tombstones a device authorization not decided yet.
        pending = keys.app_pending_codes(record.client_id)
        await self._redis.zadd(
            pending, {keys.pending_code_member(keys.UNDECIDED, record.family): record.expires_at}
        )
        await self._redis.zremrangebyscore(pending, "-inf", record.requested_at - 60)
        fields: dict[Any, Any] = {
            **msgspec.structs.asdict(record),
            "status": _STARTED,
            "interval": interval,
            "polled_ms": 0,
        }
        key = keys.device(record.family, device_sig)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=fields)
            pipe.expire(key, 2 * ttl)
            await pipe.execute()
        return True

    async def find_device(self, user_sig: str, *, now: int) -> FoundDevice | None:
        """The pending, unexpired device authorization the user code names, its family not revoked; or
        None."""
        named = await self._redis.get(keys.user_code(user_sig))
        if named is None:
            return None
        family, _, device_sig = text(named).partition(" ")
        async with self._redis.pipeline(transaction=False) as pipe:  # one slot: the family's
            pipe.hgetall(keys.device(family, device_sig))
            pipe.exists(keys.family_revoked(family))
            raw, revoked = await pipe.execute()
        fields = {text(k): text(v) for k, v in raw.items()}
        if revoked or fields.get("status") != _STARTED or int(fields.get("expires_at", "0")) <= now:
            return None
        record = DeviceRecord(
            family=fields["family"],
            client_id=fields["client_id"],
            scope=fields["scope"],
            requested_at=int(fields["requested_at"]),
            expires_at=int(fields["expires_at"]),
            address=fields.get("address", ""),
        )
        return FoundDevice(record, device_sig)

    async def decide_device(
        self, found: FoundDevice, user_sig: str, approval: CodeRecord | None, *, now: int
    ) -> str:
        """Approve (``approval``: the code record of the grant) or deny (None) once: 'ok', or why not
        ('decided', 'expired', 'unknown'). The user code is void afterwards either way."""
        family, sig = found.record.family, found.device_sig
        ttl = max(1, found.record.expires_at - now)
        args: list[Any] = ["denied", now, "", "", ttl]
        if approval is not None:
            pending = keys.app_pending_codes(approval.client_id)
            member = keys.pending_code_member(approval.user_id, family)
            await self._redis.zadd(pending, {member: approval.expires_at})
            args = ["approved", now, msgspec.json.encode(approval), approval.scope, ttl]
        script_keys = [
            keys.device(family, sig),
            keys.code(family, sig),
            keys.code_scope(family),
            keys.family_revoked(family),
        ]
        outcome = text(await self._run(_DECIDE, script_keys, args))
        await self._redis.delete(keys.user_code(user_sig))
        return outcome

    async def poll_device(
        self, family: str, device_sig: str, *, client_id: str, now_ms: int, step: int
    ) -> PollOutcome:
        """One poll (``lua/device_poll.lua``): one script, one round trip."""
        script_keys = [
            keys.device(family, device_sig),
            keys.code(family, device_sig),
            *family_keys(family),
            keys.code_scope(family),
        ]
        args = [now_ms, client_id, self._hold_ttl, step, TOLERANCE_MS]
        out = await self._run(_POLL, script_keys, args)
        if isinstance(out, bytes):
            return CodeTaken(out)
        match out[0]:
            case b"pending":
                return DevicePending()
            case b"slow_down":
                return DevicePending(slow_down=int(out[1]))
            case b"expired" | b"denied" | b"done" | b"revoked" | b"unknown":
                return DeviceEnded(text(out[0]))
        return taken_or_refused(family, out)  # code_single_use's reuse or refusal
