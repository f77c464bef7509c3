"""oauthlib's ``DeviceClient`` (unmodified) shapes the device's requests (RFC 8628 §3.1, §3.4) and
reads the answers: every error in order as oauthlib raises it, then the tokens it parses."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from oauthlib.oauth2 import DeviceClient
from oauthlib.oauth2.rfc6749.errors import AccessDeniedError, InvalidGrantError, OAuth2Error

from tests.support.device_flow import approve
from tests.support.system import System
from tests.support.token_flow import Party, bus_verify, new_party


@pytest.fixture(autouse=True)
def loopback_http(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test server is plain HTTP on a loopback address: oauthlib's switch for that."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


async def post(system: System, path: str, body: str) -> str:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    async with system.http.post(system.url(path), data=body, headers=headers) as resp:
        return await resp.text()


async def device_authorization(system: System, client: DeviceClient, scope: list[str]) -> dict[str, str]:
    uri = client.prepare_request_uri(system.url("/oauth/device_authorization"), scope=scope)
    answer: dict[str, str] = json.loads(
        await post(system, "/oauth/device_authorization", urlsplit(uri).query)
    )
    return answer


async def poll(system: System, party: Party, client: DeviceClient, device_code: str) -> dict[str, object]:
    secret = {"client_secret": party.secret} if party.secret else {}  # a public client has none
    body = client.prepare_request_body(device_code, include_client_id=True, **secret)
    return dict(client.parse_request_body_response(await post(system, "/oauth/token", body)))


async def poll_error(system: System, party: Party, client: DeviceClient, device_code: str) -> OAuth2Error:
    with pytest.raises(OAuth2Error) as raised:
        await poll(system, party, client, device_code)
    return raised.value


async def test_oauthlib_device_client_errors_in_order_then_tokens(system: System) -> None:
    party = await new_party(system, device_flow=True)
    client = DeviceClient(party.client_id, client_secret=party.secret)
    started = await device_authorization(system, client, ["meetings:read"])
    code = started["device_code"]
    assert (await poll_error(system, party, client, code)).error == "authorization_pending"
    assert (await poll_error(system, party, client, code)).error == "slow_down"
    await approve(system, party, started["user_code"])
    token = await poll(system, party, client, code)
    assert token["scope"] == ["meetings:read"] and token["token_type"] == "Bearer"
    assert (await bus_verify(system, str(token["access_token"])))["active"] is True
    assert isinstance(await poll_error(system, party, client, code), InvalidGrantError)


async def test_oauthlib_reads_a_denial(system: System) -> None:
    party = await new_party(system, device_flow=True)
    client = DeviceClient(party.client_id, client_secret=party.secret)
    started = await device_authorization(system, client, ["meetings:read"])
    await approve(system, party, started["user_code"], decision="deny")
    assert isinstance(await poll_error(system, party, client, started["device_code"]), AccessDeniedError)


async def test_oauthlib_as_a_public_client_sends_its_client_id_alone(system: System) -> None:
    party = await new_party(system, device_flow=True, client_type="public")
    client = DeviceClient(party.client_id)  # no secret: RFC 6749 §2.1 public client
    started = await device_authorization(system, client, ["meetings:read"])
    await approve(system, party, started["user_code"])
    token = await poll(system, party, client, started["device_code"])
    assert token["scope"] == ["meetings:read"]
    assert (await bus_verify(system, str(token["access_token"])))["active"] is True
