"""The common path's ID token (``IdTokens.attach_for_grant``, what ``TokenEndpoint`` runs after any
grant): a grant that issues tokens holding ``openid`` without adding an ID token itself (a grant added
later, as the device grant) still answers with one, for the user and the OIDC session of its family;
without ``openid`` nothing is added. Real Redis and the token service's real key set."""

from __future__ import annotations

import time

from joserfc import jwt
from joserfc.jwk import KeySet as JWKSet

from services.token.exchange_code import first_pair
from services.token.id_tokens import IdTokens
from services.token.issuance import mint_pair, token_reply
from services.token.keyring import Keyring
from shared.accounts.store import RedisAccountStore
from shared.grants.store import grant_store
from shared.sealing import Sealer
from shared.signing.keyset import published
from shared.signing.store import SigningKeyStore
from shared.tokens import Signer
from tests.support.oidc import oidc_party
from tests.support.system import System
from tests.support.token_flow import new_code


async def test_a_grant_without_its_own_id_token_gets_one_from_the_common_path(system: System) -> None:
    s = system.settings
    party = await oidc_party(system)
    store, signer, now = grant_store(system.redis, s), Signer(s.hmac_key), int(time.time())
    keyring = Keyring(SigningKeyStore(system.redis), Sealer(s.encryption_key), id_token_ttl=60)
    await keyring.start()

    async def rs256(_client_id: str) -> str:
        return "RS256"

    issuer = IdTokens(keyring, RedisAccountStore(system.redis), rs256, issuer=s.public_url, ttl=60)
    try:
        replies = {}
        for scope in ("openid email", "meetings:read"):
            _, record = new_code(party, scope=scope, auth_time=now - 5, sid="sid-device")
            pair = mint_pair(record.family, signer)
            first = first_pair(record, pair, now=now, access_ttl=60, refresh_ttl=120)
            assert await store.issue_first_counted(first, now=now)
            bare = token_reply(pair, scope=scope, expires_in=60)
            replies[scope] = await issuer.attach_for_grant(
                bare, tokens=store, sessions=store, signer=signer, now=now
            )
    finally:
        await keyring.close()
    assert not isinstance(replies["meetings:read"].id_token, str)
    token = replies["openid email"].id_token
    assert isinstance(token, str)
    keyset = await SigningKeyStore(system.redis).load()
    assert keyset is not None
    keys = JWKSet.import_key_set(published(keyset, now=now, id_token_ttl=60))  # type: ignore[arg-type]
    claims = jwt.decode(token, keys, algorithms=["RS256"]).claims
    assert (claims["sub"], claims["aud"], claims["sid"]) == (party.user.id, party.client_id, "sid-device")
    assert claims["auth_time"] == now - 5 and "nonce" not in claims
