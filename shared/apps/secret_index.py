"""The client-secret index of the apps store: secret HMAC -> client id, so a reported secret is found
with one lookup instead of an HMAC per app.

Written only by ``shared.apps.store.RedisAppStore`` (the apps' one writer) after the record: an entry per
hash the record holds (current, previous during its overlap, leaked), dropped when the record stops
holding it or the app is deleted. Each entry has its own slot (``keys.app_secret``), so it works on a
Redis Cluster too. A reader always checks the record: an entry is a pointer, never the truth.
"""

from __future__ import annotations

from shared import keys
from shared.apps.records import AppRecord
from shared.store import Redis


def hashes(record: AppRecord | None) -> set[str]:
    """Every secret hash ``record`` holds (none for a missing record or a public app)."""
    if record is None:
        return set()
    return {h for h in (record.secret_hash, record.previous_secret_hash, record.leaked_secret_hash) if h}


class SecretIndex:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def update(self, old: AppRecord | None, new: AppRecord | None) -> None:
        """Entries for ``new``'s hashes; those only ``old`` held removed."""
        current = hashes(new)
        for signature in hashes(old) - current:
            await self._redis.delete(keys.app_secret(signature))
        for signature in current:
            assert new is not None
            await self._redis.set(keys.app_secret(signature), new.client_id)

    async def client_id(self, signature: str) -> str | None:
        raw = await self._redis.get(keys.app_secret(signature))
        return None if raw is None else raw.decode() if isinstance(raw, bytes) else str(raw)
