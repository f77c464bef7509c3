"""The device authorization grant at the token service (RFC 8628 §3.1-3.2, §3.4-3.5).

``start`` answers the device authorization request of an authenticated client whose app has the flow
enabled: a device code (a family token, kept only as its HMAC), a user code (``shared.user_codes``,
kept only as its HMAC), where the user goes, how long it lives and how often to poll. ``poll`` is the
token request with ``grant_type=urn:ietf:params:oauth:grant-type:device_code``: one store script says
pending, slow down, denied, expired, or hands over the approval, which is issued through the same path
as an authorization code's (``CodeGrant.issue_approved``: the first pair, and whatever that path adds).
"""

from __future__ import annotations

from urllib.parse import quote

import msgspec
import structlog

from services.token.exchange_code import CodeGrant
from shared import user_codes
from shared.errors import (
    AuthorizationPending,
    DeviceAccessDenied,
    ExpiredToken,
    InvalidGrant,
    InvalidRequest,
    ServerError,
    SlowDown,
)
from shared.grants.records import CodeRecord, DeviceRecord
from shared.grants.storage import CodeTaken, DeviceEnded, DevicePending, DeviceStore, Reused
from shared.messages.device import StartDeviceReply, StartDeviceRequest
from shared.messages.registry import AppView
from shared.messages.token import ExchangeTokenReply, ExchangeTokenRequest
from shared.scopes import ScopeCatalog, join_scope, requested_scopes
from shared.tokens import Signer, mint, new_family_id, parse

log = structlog.get_logger("mavio.token")
_decode_code = msgspec.json.Decoder(CodeRecord).decode

INTERVAL = 5  # seconds between polls (RFC 8628 §3.2's default)
SLOW_DOWN_STEP = 5  # seconds added to a device code's interval by each slow_down (§3.5)
USER_CODE_DRAWS = 5  # user codes drawn before giving up (a clash is one in millions)
INVALID_DEVICE_CODE = "the device code is invalid, expired, already used or revoked"


class DeviceGrant:
    def __init__(
        self,
        *,
        devices: DeviceStore,
        code: CodeGrant,
        signer: Signer,
        catalog: ScopeCatalog,
        issuer: str,
        ttl: int,
        interval: int = INTERVAL,
    ) -> None:
        self._devices = devices
        self._code = code
        self._signer = signer
        self._catalog = catalog
        self._verification_uri = f"{issuer}/device"
        self._ttl = ttl
        self._interval = interval

    async def start(self, app: AppView, req: StartDeviceRequest, *, now: int) -> StartDeviceReply:
        """RFC 8628 §3.1-3.2 for an authenticated client whose app has the device flow enabled."""
        scope = join_scope(requested_scopes(req.scope, app.scopes, self._catalog))
        family = new_family_id()
        device_code = mint("dc", family)
        record = DeviceRecord(
            family=family,
            client_id=app.client_id,
            scope=scope,
            requested_at=now,
            expires_at=now + self._ttl,
            address=req.address,
        )
        device_sig = self._signer.sign(device_code)
        for _ in range(USER_CODE_DRAWS):
            user_code = user_codes.new_user_code()
            user_sig = self._signer.sign(user_codes.normalise(user_code) or "")
            if await self._devices.start_device(device_sig, user_sig, record, interval=self._interval):
                break
        else:
            raise ServerError("could not issue a user code", debug="user code clashes")
        log.info("device authorization started", family=family, scope=scope)
        return StartDeviceReply(
            device_code=device_code,
            user_code=user_code,
            verification_uri=self._verification_uri,
            verification_uri_complete=f"{self._verification_uri}?user_code={quote(user_code)}",
            expires_in=self._ttl,
            interval=self._interval,
        )

    async def poll(self, client_id: str, req: ExchangeTokenRequest, *, now_ms: int) -> ExchangeTokenReply:
        """RFC 8628 §3.4-3.5: one store script per poll; the tokens once, after Authorize."""
        if not req.device_code:
            raise InvalidRequest("device_code is required")
        parsed = parse(req.device_code, "dc")
        if parsed is None:
            raise InvalidGrant(INVALID_DEVICE_CODE, debug="malformed device code")
        outcome = await self._devices.poll_device(
            parsed.family,
            self._signer.sign(req.device_code),
            client_id=client_id,
            now_ms=now_ms,
            step=SLOW_DOWN_STEP,
        )
        if isinstance(outcome, DevicePending):
            if outcome.slow_down:
                raise SlowDown(f"polled too often: wait {outcome.slow_down} seconds between requests")
            raise AuthorizationPending("the user has not decided yet")
        if isinstance(outcome, DeviceEnded):
            ended(outcome.reason)
        if not isinstance(outcome, CodeTaken):
            kind = "reused" if isinstance(outcome, Reused) else outcome.reason
            raise InvalidGrant(INVALID_DEVICE_CODE, debug=f"device approval {kind}")
        record = _decode_code(outcome.record)
        log.info("device authorization redeemed", family=record.family)
        return await self._code.issue_approved(record, now=now_ms // 1000)


def ended(reason: str) -> None:
    """The error for a device authorization that will give no tokens (RFC 8628 §3.5)."""
    if reason == "denied":
        raise DeviceAccessDenied("the user denied the authorization request")
    if reason == "expired":
        raise ExpiredToken("the device code has expired: start again")
    raise InvalidGrant(INVALID_DEVICE_CODE, debug=f"device code {reason}")
