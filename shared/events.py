"""Publishing and reading events.

Live events go out on ``mavio.oauth.v1.events.<noun>.<past-verb>`` (core NATS: caches evict,
other Mavio services react). Events that must not be lost are also written, acknowledged, to the
JetStream stream ``MAVIO_AUDIT`` on ``mavio.oauth.v1.audit.<client_id>`` so an operator can read
one app's trail in order (``mavio-oauth apps audit CLIENT_ID``). The stream is file-backed with
a retention limit (age and size), so it survives restarts of any service; it refuses purges and the
deletion of single records (``deny_purge``, ``deny_delete``). It is written only through a service's
JetStream writer (bus user ``audit``, ``ServiceContext.jetstream_writer``), never through the
connection that answers requests. A record the reader cannot decode is skipped and reported.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator

import msgspec
import nats.errors
import nats.js.errors
import structlog
from nats.aio.client import Client as NATS
from nats.js import api

from shared import subjects
from shared.jetstream import publish_acknowledged
from shared.messages import events as ev
from shared.tasks import retry_at_start

log = structlog.get_logger("mavio.events")

AUDIT_STREAM = "MAVIO_AUDIT"
AUDIT_PREFIX = f"{subjects.PREFIX}.audit"
AUDIT_MAX_AGE = 400 * 86_400.0  # seconds
AUDIT_MAX_BYTES = 1024 * 1024 * 1024

_SUBJECT_OF: dict[type[ev._Event], str] = {
    ev.TokensRevoked: subjects.EVENT_TOKENS_REVOKED,
    ev.RefreshReused: subjects.EVENT_REFRESH_REUSED,
    ev.RefreshReplayed: subjects.EVENT_REFRESH_REPLAYED,
    ev.CodeReused: subjects.EVENT_CODE_REUSED,
    ev.SecretRegenerated: subjects.EVENT_SECRET_REGENERATED,
    ev.AppCreated: subjects.EVENT_APP_CREATED,
    ev.AppChanged: subjects.EVENT_APP_CHANGED,
    ev.AppDeleted: subjects.EVENT_APP_DELETED,
    ev.GrantExpired: subjects.EVENT_GRANT_EXPIRED,
    ev.ScopesNarrowed: subjects.event("scopes", "narrowed"),
    ev.PlanChanged: subjects.EVENT_PLAN_CHANGED,
    ev.CredentialLeaked: subjects.EVENT_CREDENTIAL_LEAKED,
}
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(ev.Event)


def subject_of(event: ev.Event) -> str:
    return _SUBJECT_OF[type(event)]


def audit_subject(client_id: str) -> str:
    return f"{AUDIT_PREFIX}.{client_id}"


def decode_event(data: bytes) -> ev.Event:
    event: ev.Event = _decoder.decode(data)
    return event


async def ensure_audit_stream(nc: NATS, *, replicas: int = 1, update: bool = True) -> None:
    """Create the audit stream if missing (idempotent; every publisher may call it).

    ``replicas`` (``MAVIO_AUDIT_REPLICAS``): copies of the stream on a NATS cluster, 3 in production so
    the trail stays writable and readable with one node down (1 on a single server). With ``update``,
    an existing stream takes this configuration (JetStream scales its replicas in place); without it,
    an existing stream is left as it is."""
    js = nc.jetstream()
    config = api.StreamConfig(
        name=AUDIT_STREAM,
        subjects=[f"{AUDIT_PREFIX}.>"],
        storage=api.StorageType.FILE,
        retention=api.RetentionPolicy.LIMITS,
        max_age=AUDIT_MAX_AGE,
        max_bytes=AUDIT_MAX_BYTES,
        discard=api.DiscardPolicy.OLD,
        num_replicas=replicas,
        deny_delete=True,
        deny_purge=True,
    )
    try:
        await js.add_stream(config)
    except nats.js.errors.BadRequestError:
        if update:
            await js.update_stream(config)


async def ensure_audit_stream_at_start(nc: NATS, *, replicas: int, timeout: float = 60.0) -> None:
    """``ensure_audit_stream`` for a service starting up: JetStream may not be ready yet (a NATS cluster
    still electing its meta leader answers with timeouts), so it is asked again, one warning line per
    try, until ``timeout``; only then does the service fail to start."""
    await retry_at_start("audit stream", lambda: ensure_audit_stream(nc, replicas=replicas), timeout=timeout)


# Kinds that are only announced live: expiry is routine (one event per expired family, which would
# swamp both the trail and the sweeper with acknowledged writes) and a plan change has no app.
LIVE_ONLY: tuple[type[ev._Event], ...] = (ev.GrantExpired, ev.PlanChanged)


async def publish_event(
    nc: NATS, event: ev.Event, *, audit: bool | None = None, writer: NATS | None = None
) -> None:
    """Publish ``event`` live on ``nc``, and to the audit stream through ``writer`` (the JetStream
    writer; ``nc`` when None) acknowledged, with retries, unless it is a live-only kind or ``audit`` is
    False. Revocations, reuse, secret rotations and deletions are audited."""
    data = _encoder.encode(event)
    await nc.publish(subject_of(event), data)
    await _audit(writer or nc, event, data, audit)


async def _audit(nc: NATS, event: ev.Event, data: bytes, audit: bool | None) -> None:
    if audit is None:
        audit = not isinstance(event, LIVE_ONLY)
    if not audit or not event.client_id:  # the audit trail is per app
        return
    ensure = functools.partial(ensure_audit_stream, nc, update=False)  # its owners set its replicas
    if await publish_acknowledged(nc, audit_subject(event.client_id), data, ensure=ensure):
        return
    log.error("audit event not stored", kind=type(event).__name__, client_id=event.client_id)


async def read_audit(
    nc: NATS, client_id: str, *, idle: float = 0.5, skipped: list[int] | None = None
) -> AsyncIterator[tuple[float, ev.Event]]:
    """The app's audit trail, oldest first, as (stream timestamp, event). A record that is not an event
    is skipped (one bad record must not hide the rest of the trail) and reported: its stream sequence
    number appended to ``skipped``, or a warning logged when the caller passes no list."""
    js = nc.jetstream()
    try:
        info = await js.stream_info(AUDIT_STREAM, subjects_filter=audit_subject(client_id))
    except nats.js.errors.NotFoundError:
        return
    remaining = (info.state.subjects or {}).get(audit_subject(client_id), 0)
    if remaining == 0:
        return
    sub = await js.subscribe(audit_subject(client_id), ordered_consumer=True, stream=AUDIT_STREAM)
    try:
        while remaining > 0:
            msg = await sub.next_msg(timeout=idle + 5)
            remaining -= 1
            try:
                event = decode_event(msg.data)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                seq = msg.metadata.sequence.stream
                if skipped is None:
                    log.warning(
                        "audit record skipped: not an event", client_id=client_id, seq=seq, debug=str(exc)
                    )
                else:
                    skipped.append(seq)
                continue
            yield event.at, event
    finally:
        await sub.unsubscribe()
