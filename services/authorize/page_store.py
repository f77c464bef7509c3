"""The authorize service's own Redis keys: consent pages (``pages.ConsentRecord``).

Contract: a page is field ``sign(consent id)`` of the hash ``shared.keys.consent_pages(user_id)`` (the
user's slot), never the raw id. Taking a page deletes it in the same atomic step, so exactly one
decision gets it; an authorization deletes every other open page of the same app (decided once, that
request's other pages are void). Pages already expired are dropped whenever a page is saved.
"""

from __future__ import annotations

from typing import Protocol

import msgspec
import structlog

from services.authorize.pages import ConsentRecord
from shared import keys
from shared.store import Redis

log = structlog.get_logger("mavio.authorize.pages")

_decoder = msgspec.json.Decoder(ConsentRecord)

# KEYS: pages. ARGV: field, record JSON, ttl, now.
_SAVE = """
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local ok, r = pcall(cjson.decode, all[i + 1])
  if not ok or tonumber(r['expires_at']) <= tonumber(ARGV[4]) then redis.call('HDEL', KEYS[1], all[i]) end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
"""

# KEYS: pages. ARGV: field. The page's record, gone from the store in the same step.
_TAKE = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if raw then redis.call('HDEL', KEYS[1], ARGV[1]) end
return raw
"""

# KEYS: pages. ARGV: client_id. Every open page of the app goes.
_FORGET = """
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local ok, r = pcall(cjson.decode, all[i + 1])
  if not ok or r['request']['client_id'] == ARGV[1] then redis.call('HDEL', KEYS[1], all[i]) end
end
"""


class PageStore(Protocol):
    async def save_consent(self, user_id: str, signature: str, record: ConsentRecord, ttl: int) -> None:
        """Store a consent page's record under its id's signature for about ``ttl`` seconds."""
        ...

    async def take_consent(self, user_id: str, signature: str) -> ConsentRecord | None:
        """The page's record, deleted in the same atomic step (None: unknown or already taken)."""
        ...

    async def forget_consents(self, user_id: str, client_id: str) -> None:
        """Delete every open consent page of the user for the app."""
        ...


class RedisPageStore:
    def __init__(self, redis: Redis) -> None:
        self._save = redis.register_script(_SAVE)
        self._take = redis.register_script(_TAKE)
        self._forget = redis.register_script(_FORGET)

    async def save_consent(self, user_id: str, signature: str, record: ConsentRecord, ttl: int) -> None:
        args = [signature, msgspec.json.encode(record), ttl, record.shown_at]
        await self._save(keys=[keys.consent_pages(user_id)], args=args)

    async def take_consent(self, user_id: str, signature: str) -> ConsentRecord | None:
        raw = await self._take(keys=[keys.consent_pages(user_id)], args=[signature])
        if raw is None:
            return None
        try:
            return _decoder.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("unreadable consent record refused", debug=str(exc))
            return None

    async def forget_consents(self, user_id: str, client_id: str) -> None:
        await self._forget(keys=[keys.consent_pages(user_id)], args=[client_id])
