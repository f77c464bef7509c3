"""The token service's OpenID Connect parts, wired from its context: the keyring (loaded or made at
start, reloaded on ``signing_keys.rotated``), ID token issuance, and the operator's key routes
(``mavio-oauth keys list|rotate``)."""

from __future__ import annotations

import time
from typing import Any

import msgspec
import structlog

from services.token.id_tokens import IdTokens
from services.token.keyring import Keyring
from shared import subjects
from shared.accounts.store import AccountStore
from shared.apps.client_auth_cache import CachedClientVerifier
from shared.lifecycle import ServiceContext
from shared.messages.token import SigningKeysReply, SigningKeysRequest, SigningKeysRotated
from shared.sealing import Sealer
from shared.service import Meta, Route
from shared.signing.store import SigningKeyStore

log = structlog.get_logger("mavio.token")


async def start_keyring(ctx: ServiceContext) -> Keyring:
    s = ctx.settings
    keyring = Keyring(SigningKeyStore(ctx.redis), Sealer(s.encryption_key), id_token_ttl=s.id_token_lifetime)
    await keyring.start()
    ctx.stack.push_async_callback(keyring.close)
    await keyring.watch(ctx.nc)
    return keyring


def id_token_issuer(
    ctx: ServiceContext, keyring: Keyring, clients: CachedClientVerifier, accounts: AccountStore
) -> IdTokens:
    async def alg_of(client_id: str) -> str:
        app = await clients.app(client_id)
        return app.id_token_signed_response_alg if app is not None else "RS256"

    s = ctx.settings
    return IdTokens(keyring, accounts, alg_of, issuer=s.public_url, ttl=s.id_token_lifetime)


def signing_key_routes(ctx: ServiceContext, keyring: Keyring) -> list[Route[Any]]:
    async def list_keys(_req: SigningKeysRequest, _meta: Meta) -> SigningKeysReply:
        return await keyring.listing()

    async def rotate_keys(_req: SigningKeysRequest, _meta: Meta) -> SigningKeysReply:
        await keyring.rotate()  # this replica uses the new keys now; the others on the event
        announced = SigningKeysRotated(at=time.time(), current=keyring.kids())
        await ctx.nc.publish(subjects.EVENT_SIGNING_KEYS_ROTATED, msgspec.json.encode(announced))
        await ctx.nc.flush()
        log.info("signing keys rotated", kids=keyring.kids())
        return await keyring.listing()

    return [
        Route("keys_list", subjects.TOKEN_KEYS_LIST, SigningKeysRequest, list_keys),
        Route("keys_rotate", subjects.TOKEN_KEYS_ROTATE, SigningKeysRequest, rotate_keys),
    ]
