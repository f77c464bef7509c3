"""Access and refresh tokens and their family: the first pair, rotation, revocation, plan narrowing.

Every operation is one Lua script in the family's hash slot (``shared.grants.scripts``); the rules they
apply each have their own file (``lua/reuse_detection.lua``, ``lua/replay_window.lua``,
``lua/scope_narrowing.lua``).
"""

from __future__ import annotations

from typing import Any

import msgspec

from shared.grants import keys
from shared.grants.base import GrantStoreBase, text
from shared.grants.family import family_keys, revoked_of
from shared.grants.records import OidcSession
from shared.grants.scripts import script
from shared.grants.storage import (
    REFUSALS,
    FirstPair,
    Narrowed,
    Refused,
    Replayed,
    ReplayRefused,
    Reused,
    Revoked,
    Rotated,
    Rotation,
)

_ISSUE_FIRST_PAIR = script("issue_first_pair")
_NARROW_FAMILY_SCOPE = script("narrow_family_scope")
_REFRESH_ROTATION = script("refresh_rotation")
_REVOKE_ACCESS_TOKEN = script("revoke_access_token")
_REVOKE_GRANT_FAMILY = script("revoke_grant_family")


_decode_session = msgspec.json.Decoder(OidcSession).decode


class RedisTokens(GrantStoreBase):
    async def get_access(self, family: str, signature: str) -> bytes | None:
        return await self._reader.get(keys.access_token(family, signature))

    async def get_access_many(self, tokens: list[tuple[str, str]]) -> list[bytes | None]:
        if not tokens:
            return []
        return await self._reader.get_many([keys.access_token(f, sig) for f, sig in tokens])

    async def get_refresh(self, family: str, signature: str) -> bytes | None:
        raw: bytes | None = await self._redis.get(keys.refresh_token(family, signature))
        return raw

    async def oidc_session(self, family: str) -> OidcSession | None:
        raw = await self._redis.hget(keys.family(family), "oidc")
        return None if raw is None else _decode_session(raw)

    async def family_known(self, family: str) -> bool:
        return bool(await self._redis.exists(keys.family(family), keys.family_revoked(family)))

    async def revoke_access(self, family: str, signature: str) -> bool:
        script_keys = [keys.access_token(family, signature), keys.family_members(family)]
        return bool(await self._run(_REVOKE_ACCESS_TOKEN, script_keys, []))

    async def rotate(
        self, rotation: Rotation, *, now: int
    ) -> Rotated | Replayed | ReplayRefused | Reused | Refused:
        fam = rotation.family
        script_keys = [
            keys.refresh_token(fam, rotation.presented_sig),
            *family_keys(fam),
            keys.refresh_replay(fam, rotation.presented_sig),
            keys.access_token(fam, rotation.access_sig),
            keys.refresh_token(fam, rotation.refresh_sig),
        ]
        args = [
            now,
            rotation.client_id,
            rotation.scope,
            self._window_ms,
            rotation.sealed,
            self._access_ttl,
            self._refresh_ttl,
            self._hold_ttl,
            self._slide_slack,
        ]
        out = await self._run(_REFRESH_ROTATION, script_keys, args)
        if isinstance(out, bytes):  # rotated: slide, scope and user id, one per line
            slide, scope, user_id = out.split(b"\n", 2)
            return Rotated(text(scope), text(user_id), slide=slide == b"1")
        match out[0]:
            case b"replay":
                return Replayed(out[1], text(out[2]), text(out[3]))
            case b"replay_other_scope":
                return ReplayRefused(scope=text(out[2]), user_id=text(out[1]))
            case b"reused":
                return Reused(revoked_of(fam, out[1:]))
        return REFUSALS[out[0]]

    async def issue_first(self, pair: FirstPair, *, now: int) -> bool:
        return bool(
            await self._run(
                _ISSUE_FIRST_PAIR, self._issue_first_keys(pair), self._issue_first_args(pair, now)
            )
        )

    @staticmethod
    def _issue_first_keys(pair: FirstPair) -> list[str]:
        fam = pair.family
        return [
            *family_keys(fam),
            keys.access_token(fam, pair.access_sig),
            keys.refresh_token(fam, pair.refresh_sig),
        ]

    def _issue_first_args(self, pair: FirstPair, now: int) -> list[Any]:
        return [
            now,
            pair.access_record,
            self._access_ttl,
            pair.refresh_record,
            self._refresh_ttl,
            pair.client_id,
            pair.user_id,
            pair.scope,
            pair.oidc,
        ]

    async def revoke(self, family: str, *, now: int) -> Revoked:
        out = await self._run(_REVOKE_GRANT_FAMILY, family_keys(family), [now, self._hold_ttl])
        return revoked_of(family, out)

    async def narrow_family(self, family: str, allowed: frozenset[str]) -> Narrowed:
        out = await self._run(_NARROW_FAMILY_SCOPE, family_keys(family), [" ".join(sorted(allowed))])
        match [text(x) for x in out]:
            case ["empty", client_id, user_id]:
                return Narrowed("empty", client_id, user_id)
            case [("same" | "narrowed") as outcome, client_id, user_id, scope]:
                return Narrowed(outcome, client_id, user_id, scope)
        return Narrowed("gone")
