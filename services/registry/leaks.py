"""Leaked client secrets (a secret-scanning report, or the app owner's form): the registry, the one
writer of app records, invalidates the secret at once.

A reported ``mavio_cs_`` string is signed once (HMAC under the server key) and its app found through the
apps store's secret index (current, previous and already-leaked hashes; only the named app's, compared
in constant time, for the owner's form): one lookup, however many apps there are. The
current or a still-valid previous secret is dropped from the record with no overlap, the record keeps
the leaked HMAC (so a repeated report is still a true positive, and acts no more) and the URL (the app
page's banner, until a new secret is made), by a compare-and-set of the record, so concurrent reports
of one secret act once; ``CredentialLeaked`` evicts cached records (client
authentication) and goes to the app's audit trail. A secret rotated out before its last rotation but one
is no longer known: it reads as unknown.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable

import structlog
from prometheus_client import Counter

from services.registry import client_secrets
from shared.apps.records import AppRecord
from shared.apps.secret_index import hashes
from shared.apps.store import AppStore
from shared.messages.events import CredentialLeaked
from shared.messages.leaks import (
    LeakedCredential,
    LeakVerdict,
    ReportLeakedReply,
    ReportLeakedRequest,
    reporter_of,
)
from shared.tokens import Signer, check_client_secret_format

log = structlog.get_logger("mavio.registry")

CREDENTIAL_TYPE = "client_secret"
UNKNOWN = LeakVerdict(issued=False)


class LeakedSecrets:
    def __init__(
        self,
        apps: AppStore,
        signer: Signer,
        publish: Callable[[CredentialLeaked], Awaitable[None]],
        *,
        clock: Callable[[], float] = time.time,
        leaked: Counter | None = None,  # ``mavio_credentials_leaked_total``
    ) -> None:
        self._apps = apps
        self._signer = signer
        self._publish = publish
        self._clock = clock
        self._leaked = leaked

    async def report(self, req: ReportLeakedRequest) -> ReportLeakedReply:
        """One verdict per item, in order; a live leaked secret invalidated before the reply."""
        return ReportLeakedReply(verdicts=[await self._one(item, req) for item in req.items])

    async def _find(self, secret: str, req: ReportLeakedRequest) -> tuple[AppRecord, str] | None:
        """The app holding ``secret`` (signed once, found through the store's secret index; only the
        named app for the owner's form) and the hash it matched."""
        signature = self._signer.sign(secret)
        if req.client_id:
            record = await self._apps.get(req.client_id)
            if record is None or not any(self._signer.matches(secret, h) for h in hashes(record)):
                return None
        else:
            record = await self._apps.by_secret(signature)
        return None if record is None else (record, signature)

    def _live(self, record: AppRecord, signature: str) -> bool:
        """Whether ``signature`` still authenticates: the current secret, or the previous in its overlap."""
        current = hmac.compare_digest(signature, record.secret_hash)
        previous = hmac.compare_digest(signature, record.previous_secret_hash)
        return current or (previous and self._clock() < record.previous_secret_until)

    async def _one(self, item: LeakedCredential, req: ReportLeakedRequest) -> LeakVerdict:
        found = await self._find(item.token, req) if check_client_secret_format(item.token) else None
        if found is None:
            return UNKNOWN
        record, signature = found
        now = int(self._clock())

        def invalidate(fresh: AppRecord) -> AppRecord | None:
            live = self._live(fresh, signature)
            return client_secrets.leaked(fresh, signature, url=item.url, now=now) if live else None

        # compare and set: of concurrent reports of one secret, one swaps the record and acts
        if await self._apps.replace(record.client_id, invalidate) is None:
            # expired, rotated out, already revoked (by an earlier or concurrent report): nothing to do
            return UNKNOWN if req.client_id else LeakVerdict(issued=True)
        await self._publish(
            CredentialLeaked(
                at=self._clock(),
                client_id=record.client_id,
                actor=req.actor,
                credential_type=CREDENTIAL_TYPE,
                token_hash=item.token_hash,
                url=item.url,
                source=item.source,
            )
        )
        if self._leaked is not None:
            self._leaked.labels(credential_type=CREDENTIAL_TYPE, reporter=reporter_of(req.actor)).inc()
        log.info("leaked client secret revoked", client_id=record.client_id, token_hash=item.token_hash)
        return LeakVerdict(issued=True, revoked=True, client_id=record.client_id)
