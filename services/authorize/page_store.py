"""The authorize service's own Redis keys: consent pages (``pages.ConsentRecord``).

Contract: a page is its own key, ``shared.keys.consent_page(user_id, sign(consent id))`` (never the raw
id), written with its TTL in one command, and listed in the user's ``shared.keys.consent_pages``; both
in the user's slot. Taking a page deletes it in the same atomic step, so exactly one decision gets it;
an authorization deletes every other open page of the same app (decided once, that request's other
pages are void). A user holds at most ``max_pages`` open pages (``MAVIO_CONSENT_PAGES_MAX``): a new page
over the cap drops the oldest. No operation reads the records of other pages, so a save costs the same
however many pages a user has opened. Scripts are in ``lua/``, one file each, run by
``shared.script_runner``.
"""

from __future__ import annotations

from typing import Protocol

import msgspec
import structlog

from services.authorize.pages import ConsentRecord
from shared import keys
from shared.script_runner import LuaScript, ScriptRunner
from shared.store import Redis

log = structlog.get_logger("mavio.authorize.pages")

_decoder = msgspec.json.Decoder(ConsentRecord)
_SAVE = LuaScript.load(__package__, "consent_save")
_TAKE = LuaScript.load(__package__, "consent_take")
_FORGET = LuaScript.load(__package__, "consent_forget")


class PageStore(Protocol):
    async def save_consent(self, user_id: str, signature: str, record: ConsentRecord, ttl: int) -> None:
        """Store a consent page's record under its id's signature for ``ttl`` seconds; over the cap
        of open pages per user, the user's oldest pages go."""
        ...

    async def take_consent(self, user_id: str, signature: str) -> ConsentRecord | None:
        """The page's record, deleted in the same atomic step (None: unknown or already taken)."""
        ...

    async def forget_consents(self, user_id: str, client_id: str) -> None:
        """Delete every open consent page of the user for the app."""
        ...


class RedisPageStore:
    def __init__(self, redis: Redis, *, max_pages: int) -> None:
        self._max_pages = max_pages
        self._scripts = ScriptRunner(redis)

    async def save_consent(self, user_id: str, signature: str, record: ConsentRecord, ttl: int) -> None:
        member = keys.consent_page_member(signature, record.request.client_id)
        args = [member, msgspec.json.encode(record), ttl, self._max_pages, keys.consent_page(user_id, "")]
        page_keys = [keys.consent_pages(user_id), keys.consent_page(user_id, signature)]
        dropped = await self._scripts.run(_SAVE, page_keys, args)
        if dropped:
            log.info("oldest consent pages dropped: over the cap", dropped=dropped, cap=self._max_pages)

    async def take_consent(self, user_id: str, signature: str) -> ConsentRecord | None:
        page_keys = [keys.consent_pages(user_id), keys.consent_page(user_id, signature)]
        raw = await self._scripts.run(_TAKE, page_keys, [signature])
        if raw is None:
            return None
        try:
            return _decoder.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("unreadable consent record refused", debug=str(exc))
            return None

    async def forget_consents(self, user_id: str, client_id: str) -> None:
        prefix = keys.consent_page(user_id, "")
        await self._scripts.run(_FORGET, [keys.consent_pages(user_id)], [client_id, prefix])
