"""The UserInfo endpoint's answer (OpenID Connect Core 1.0 §5.3; RFC 6750 §3.1).

The access token is verified exactly as ``token.verify`` does (one read of its record: a revocation
is visible at once) and the call counted like a verification. Unknown, expired, revoked or malformed:
``invalid_token`` (401); a token whose scope lacks ``openid``: ``insufficient_scope`` (403). The
answer is ``sub`` (the same as the ID token's and introspection's) and the claims the scope allows
(``services.token.claims``).
"""

from __future__ import annotations

from typing import Any

import msgspec

from services.token.calls import CallCounter
from services.token.verify import active_access_record
from shared import oidc_claims as oidc
from shared.accounts.store import AccountStore
from shared.errors import InsufficientScope, InvalidToken
from shared.grants.storage import AccessTokenStore
from shared.messages.token import UserInfoRequest
from shared.service import Meta
from shared.tokens import Signer

_encode = msgspec.json.Encoder().encode


class UserInfo:
    def __init__(
        self, store: AccessTokenStore, signer: Signer, calls: CallCounter, accounts: AccountStore
    ) -> None:
        self._store = store
        self._signer = signer
        self._calls = calls
        self._accounts = accounts

    async def userinfo(self, req: UserInfoRequest, _meta: Meta) -> bytes:
        record = await active_access_record(self._store, self._signer, req.token)
        if record is None:
            raise InvalidToken("the access token is invalid, expired or revoked")
        self._calls.add(record.client_id)
        if not oidc.has_openid(record.scope):
            raise InsufficientScope("the access token's scope does not include openid")
        body: dict[str, Any] = {"sub": record.user_id}
        names = oidc.allowed(record.scope)
        if names:
            body |= oidc.user_claims(await self._accounts.get(record.user_id), names)
        return _encode(body)
