"""The device grant's decisions (RFC 8628 §3.2, §3.5), table-driven against a stand-in store that
answers what the Redis store's contract says (``tests/integration/grants/test_device_contract.py``
holds the real store to it): which RFC error each poll outcome is, what is refused before the store is
asked, and a device authorization's response."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from services.token.device import DeviceGrant
from shared.errors import (
    AuthorizationPending,
    DeviceAccessDenied,
    InvalidGrant,
    OAuthError,
    ServerError,
    SlowDown,
)
from shared.grants.records import DeviceRecord
from shared.grants.storage import DeviceEnded, DevicePending, FoundDevice, PollOutcome, Refused
from shared.messages.device import StartDeviceRequest
from shared.messages.registry import AppView
from shared.messages.token import ExchangeTokenRequest
from shared.scopes import ScopeCatalog
from shared.service import ServiceRunner
from shared.tokens import Signer, mint, new_family_id

SIGNER = Signer(b"u" * 32)
APP = AppView(
    client_id="mavio_client_DeviceUnit000001",
    name="Panel",
    homepage_url="https://panel.example",
    redirect_uris=[],
    scopes=["meetings:read", "users:read"],
    owner_id="o",
    device_flow=True,
)


@dataclass
class Store:
    """Answers each poll with ``outcome``; takes user codes unless ``clashes`` say they are taken."""

    outcome: PollOutcome = field(default_factory=DevicePending)
    clashes: int = 0
    polled: list[str] = field(default_factory=list)
    started: list[DeviceRecord] = field(default_factory=list)

    async def start_device(
        self, device_sig: str, user_sig: str, record: DeviceRecord, *, interval: int
    ) -> bool:
        if self.clashes:
            self.clashes -= 1
            return False
        self.started.append(record)
        return True

    async def poll_device(self, family: str, device_sig: str, **_: Any) -> PollOutcome:
        self.polled.append(family)
        return self.outcome

    async def find_device(self, user_sig: str, *, now: int) -> FoundDevice | None:
        raise AssertionError("not the token service's")

    async def decide_device(self, *_: Any, **__: Any) -> str:
        raise AssertionError("not the token service's")


def grant(store: Store) -> DeviceGrant:
    return DeviceGrant(
        devices=store,
        code=None,  # type: ignore[arg-type]  # no approval is issued in these tests
        signer=SIGNER,
        catalog=ScopeCatalog.load(),
        issuer="https://mavio.example",
        ttl=900,
    )


def poll_request(device_code: str) -> ExchangeTokenRequest:
    grant_type = "urn:ietf:params:oauth:grant-type:device_code"
    return ExchangeTokenRequest(
        client_id=APP.client_id, client_secret="s", grant_type=grant_type, device_code=device_code
    )


@pytest.mark.parametrize(
    ("outcome", "error"),
    [
        (DevicePending(), "authorization_pending"),
        (DevicePending(slow_down=10), "slow_down"),
        (DeviceEnded("denied"), "access_denied"),
        (DeviceEnded("expired"), "expired_token"),
        (DeviceEnded("done"), "invalid_grant"),
        (DeviceEnded("unknown"), "invalid_grant"),
        (DeviceEnded("revoked"), "invalid_grant"),
        (Refused("wrong_client"), "invalid_grant"),
    ],
)
async def test_each_poll_outcome_is_its_rfc8628_error(outcome: PollOutcome, error: str) -> None:
    store = Store(outcome=outcome)
    with pytest.raises(OAuthError) as raised:
        await grant(store).poll(APP.client_id, poll_request(mint("dc", new_family_id())), now_ms=0)
    assert raised.value.error == error and raised.value.status == 400


@pytest.mark.parametrize(
    ("device_code", "error"),
    [
        ("", "invalid_request"),
        ("mavio_dc_short", "invalid_grant"),
        (mint("at", new_family_id()), "invalid_grant"),
    ],
)
async def test_a_missing_or_malformed_device_code_never_reaches_the_store(
    device_code: str, error: str
) -> None:
    store = Store()
    with pytest.raises(OAuthError) as raised:
        await grant(store).poll(APP.client_id, poll_request(device_code), now_ms=0)
    assert raised.value.error == error and store.polled == []


async def test_a_device_authorization_response() -> None:
    store = Store(clashes=2)  # two user codes already taken: drawn again
    reply = await grant(store).start(
        APP,
        StartDeviceRequest(client_id=APP.client_id, client_secret="s", scope="users:read meetings:read"),
        now=1000,
    )
    assert reply.device_code.startswith("mavio_dc_") and len(reply.user_code) == 9
    assert reply.verification_uri == "https://mavio.example/device"
    assert reply.verification_uri_complete == f"https://mavio.example/device?user_code={reply.user_code}"
    assert (reply.expires_in, reply.interval) == (900, 5)
    [record] = store.started
    assert (record.scope, record.expires_at) == ("meetings:read users:read", 1900)  # catalog order


@pytest.mark.parametrize("scope", ["", "webhooks:write", "transcripts:read", "meetings:read bad\x01"])
async def test_a_scope_not_registered_for_the_app_is_invalid_scope(scope: str) -> None:
    with pytest.raises(OAuthError) as raised:
        await grant(Store()).start(
            APP, StartDeviceRequest(client_id=APP.client_id, client_secret="s", scope=scope), now=0
        )
    assert raised.value.error == "invalid_scope"


async def test_user_codes_that_keep_clashing_are_a_server_error() -> None:
    with pytest.raises(ServerError):
        await grant(Store(clashes=99)).start(
            APP, StartDeviceRequest(client_id=APP.client_id, client_secret="s", scope="meetings:read"), now=0
        )


@pytest.fixture
def debug_logs() -> Iterator[None]:
    """Every level reaches the captured logs (the suite's configuration filters below warning)."""
    before = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        yield
    finally:
        structlog.configure(**before)


ROUTINE = [AuthorizationPending(), SlowDown()]
REFUSALS = [DeviceAccessDenied(), InvalidGrant()]


@pytest.mark.usefixtures("debug_logs")
@pytest.mark.parametrize("error", [*ROUTINE, *REFUSALS])
def test_a_pending_poll_is_no_refused_request_in_the_logs(error: OAuthError) -> None:
    """2,000 devices polling every 5 s would write 2,000 "request refused" lines a second at info."""
    with capture_logs() as logs:
        ServiceRunner._error_of(error, "req-1")
    level = "debug" if error in ROUTINE else "info"
    assert [(entry["event"], entry["log_level"]) for entry in logs] == [("request refused", level)]
