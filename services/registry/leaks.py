"""Leaked client secrets (a secret-scanning report, or the app owner's form): the registry, the one
writer of app records, invalidates the secret at once.

A reported ``mavio_cs_`` string is compared (constant time, HMAC under the server key) with every app's
current, previous and already-leaked secret hash (only the named app's for the owner's form). The
current or a still-valid previous secret is dropped from the record with no overlap, the record keeps
the leaked HMAC (so a repeated report is still a true positive, and acts no more) and the URL (the app
page's banner, until a new secret is made); ``CredentialLeaked`` evicts cached records (client
authentication) and goes to the app's audit trail. A secret rotated out before its last rotation but one
is no longer known: it reads as unknown.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import structlog
from prometheus_client import Counter

from services.registry import client_secrets
from shared.apps.records import AppRecord
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
        wanted = [item for item in req.items if check_client_secret_format(item.token)]
        records: list[AppRecord] = []
        if wanted:
            one = await self._apps.get(req.client_id) if req.client_id else None
            records = ([one] if one else []) if req.client_id else await self._apps.all()
        return ReportLeakedReply(verdicts=[await self._one(item, records, req) for item in req.items])

    def _match(self, records: list[AppRecord], secret: str) -> tuple[AppRecord, str] | None:
        """The app whose current, previous or leaked secret ``secret`` is, and which hash matched."""
        now = self._clock()
        for record in records:
            for signature in (record.secret_hash, record.previous_secret_hash, record.leaked_secret_hash):
                if signature and self._signer.matches(secret, signature):
                    live = signature == record.secret_hash or (
                        signature == record.previous_secret_hash and now < record.previous_secret_until
                    )
                    return record, signature if live else ""
        return None

    async def _one(
        self, item: LeakedCredential, records: list[AppRecord], req: ReportLeakedRequest
    ) -> LeakVerdict:
        if not check_client_secret_format(item.token):
            return UNKNOWN
        found = self._match(records, item.token)
        if found is None:
            return UNKNOWN
        record, live_signature = found
        if not live_signature:  # expired, rotated out or already revoked: nothing left to do
            return UNKNOWN if req.client_id else LeakVerdict(issued=True)
        fresh = await self._apps.get(record.client_id)  # the newest record, not the listing's copy
        if fresh is None:
            return UNKNOWN if req.client_id else LeakVerdict(issued=True)
        now = self._clock()
        revoked = client_secrets.leaked(fresh, live_signature, url=item.url, now=int(now))
        await self._apps.save(revoked)
        records[records.index(record)] = revoked  # a repeat within this report now finds it revoked
        await self._publish(
            CredentialLeaked(
                at=now,
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
