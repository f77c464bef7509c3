"""Messages of the device authorization grant (RFC 8628): the device's request (token service) and the
user's side on ``/device`` (authorize service). Requests carrying a code are never logged; the user
code and device code never appear in an event or a record (only their HMACs)."""

from __future__ import annotations

import msgspec

from shared.messages.authorize import Decision
from shared.messages.registry import AppView


class StartDeviceRequest(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /oauth/device_authorization`` (RFC 8628 §3.1) after the gateway parsed the form."""

    client_id: str
    client_secret: str
    scope: str = ""
    address: str = ""  # the device's network address, shown to the user on the consent page


class StartDeviceReply(msgspec.Struct, frozen=True, kw_only=True):
    """The device authorization response, exactly these fields (RFC 8628 §3.2)."""

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int


class ShowDeviceRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A user code typed (or prefilled and confirmed) on ``/device`` by a signed-in user."""

    user_code: str
    user_id: str
    session: str  # the session's consent binding: the device consent page is bound to it


class DeviceConsent(msgspec.Struct, frozen=True, kw_only=True, tag="device_consent", tag_field="kind"):
    """Show the device consent page: the app, the scopes it asks for, when and from where the device
    asked; ``consent`` identifies the page's single decision."""

    app: AppView
    scopes: list[str]
    user_code: str  # as shown, XXXX-XXXX
    requested_at: int
    address: str
    consent: str


class DeviceCodeRefused(msgspec.Struct, frozen=True, kw_only=True, tag="code_refused", tag_field="kind"):
    """The code is not one that can be decided now (wrong, expired or decided: never which)."""

    reason: str


class ShowDeviceReply(msgspec.Struct, frozen=True, kw_only=True):
    outcome: DeviceConsent | DeviceCodeRefused


class DecideDeviceRequest(msgspec.Struct, frozen=True, kw_only=True):
    """The user's decision on the device consent page ``consent``."""

    user_id: str
    session: str
    consent: str
    decision: Decision
    # The signed-in session as an ID token needs it (OpenID Connect Core 1.0 §2): ``auth_time``, the
    # user's last actual sign-in (``sign_in_of``), and ``sid``, the session's id (never its cookie).
    auth_time: int = 0
    sid: str = ""


class DecideDeviceReply(msgspec.Struct, frozen=True, kw_only=True):
    """``decided``: the device's next poll gets tokens (authorize) or ``access_denied`` (deny); otherwise
    ``reason`` says why nothing was decided."""

    decided: bool
    decision: Decision
    app_name: str = ""
    reason: str = ""
