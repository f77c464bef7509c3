"""Bus encoding, the error <-> header mapping, and a request helper with a timeout.

A reply is either the typed result (JSON) or an error envelope (RFC 6749 §5.2 shape) marked by
the nats.micro headers ``Nats-Service-Error`` (the error code) and ``Nats-Service-Error-Code``
(the HTTP status the gateway should answer with).
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
import nats.errors
from nats.aio.client import Client as NATS

from shared.errors import OAuthError, TemporarilyUnavailable, ValidationFailed, error_class
from shared.subjects import REQUEST_ID_HEADER

T = TypeVar("T")

ERROR_HEADER = "Nats-Service-Error"
ERROR_CODE_HEADER = "Nats-Service-Error-Code"

_encoder = msgspec.json.Encoder()


class ErrorEnvelope(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    error: str
    error_description: str = ""
    fields: dict[str, str] | None = None
    kind: str = ""  # the exception class (``shared.errors``), so the caller raises the same type


class NoResponders(TemporarilyUnavailable):
    """No process serves the subject (none running, or none of a version that has it): the request
    reached no one, so nothing was done; answered as ``temporarily_unavailable``."""


def encode(obj: Any) -> bytes:
    return _encoder.encode(obj)


_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}


def decoder(message_type: type[T]) -> msgspec.json.Decoder[T]:
    """The JSON decoder of ``message_type``, built once per type (the bus's message types are few)."""
    found = _decoders.get(message_type)
    if found is None:
        found = _decoders[message_type] = msgspec.json.Decoder(message_type)
    return found


def error_envelope(exc: OAuthError) -> ErrorEnvelope:
    """The envelope of ``exc`` (its ``debug`` text stays behind)."""
    fields = exc.fields if isinstance(exc, ValidationFailed) else None
    return ErrorEnvelope(
        error=exc.error, error_description=exc.description, fields=fields, kind=type(exc).__name__
    )


def error_payload(exc: OAuthError) -> tuple[bytes, dict[str, str]]:
    """The envelope and headers for ``exc`` (its ``debug`` text stays behind)."""
    return encode(error_envelope(exc)), {ERROR_HEADER: exc.error, ERROR_CODE_HEADER: str(exc.status)}


def error_from(env: ErrorEnvelope) -> OAuthError:
    """The OAuthError subclass an envelope was made from (or its code's class), to raise again."""
    cls = error_class(env.error, env.kind)
    if issubclass(cls, ValidationFailed):
        return cls(env.fields or {})
    return cls(env.error_description)


def raise_if_error(data: bytes, headers: dict[str, str] | None) -> None:
    """Re-raise an error envelope as the OAuthError subclass that was raised (or the code's class)."""
    if not headers or ERROR_CODE_HEADER not in headers:
        return
    try:
        env = msgspec.json.decode(data, type=ErrorEnvelope)
    except msgspec.DecodeError:
        env = ErrorEnvelope(error=headers.get(ERROR_HEADER, "server_error"))
    raise error_from(env)


class Bus:
    """Typed request/reply and publish over one NATS connection (passed in; never global)."""

    def __init__(self, nc: NATS, *, timeout: float) -> None:
        self.nc = nc
        self.timeout = timeout

    async def request(
        self,
        subject: str,
        payload: Any,
        reply_type: type[T],
        *,
        request_id: str | None = None,
        timeout: float | None = None,
    ) -> T:
        headers = {REQUEST_ID_HEADER: request_id} if request_id else None
        service = subject.split(".")[3] if subject.count(".") >= 3 else subject
        try:
            msg = await self.nc.request(
                subject, encode(payload), timeout=timeout or self.timeout, headers=headers
            )
        except nats.errors.NoRespondersError:
            raise NoResponders(f"the {service} service is not available") from None
        except (nats.errors.TimeoutError, TimeoutError):
            raise TemporarilyUnavailable(f"the {service} service did not answer in time") from None
        except (nats.errors.ConnectionClosedError, nats.errors.ConnectionReconnectingError):
            raise TemporarilyUnavailable("the message bus is not reachable") from None
        raise_if_error(msg.data, msg.headers)
        try:
            return decoder(reply_type).decode(msg.data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise TemporarilyUnavailable(
                f"the {service} service sent an unreadable reply", debug=str(exc)
            ) from None

    async def publish(self, subject: str, event: Any, *, request_id: str | None = None) -> None:
        headers = {REQUEST_ID_HEADER: request_id} if request_id else None
        await self.nc.publish(subject, encode(event), headers=headers)
