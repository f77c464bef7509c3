"""RFC 9207: the authorization response names the issuer (success and error redirects), and the
metadata announces it (``authorization_response_iss_parameter_supported``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.authorize_flow import Flow, flow
from tests.support.system import System


@pytest.fixture
async def f(system: System) -> AsyncIterator[Flow]:
    async with flow(system) as the_flow:
        yield the_flow


async def test_metadata_announces_the_iss_parameter(system: System) -> None:
    async with system.http.get(system.url("/.well-known/oauth-authorization-server")) as resp:
        body = await resp.json()
    assert body["authorization_response_iss_parameter_supported"] is True
    assert body["issuer"] == system.settings.public_url


async def test_the_code_redirect_carries_iss_equal_to_the_metadata_issuer(f: Flow) -> None:
    answer = await f.decide(await f.consent())
    got = answer.redirect_params()
    assert "code" in got and got["iss"] == f.system.settings.public_url


@pytest.mark.parametrize(
    "overrides",
    [
        {"response_type": "token"},  # before sign-in checks
        {"scope": "no-such:scope"},
        {"code_challenge": "short", "code_challenge_method": "S256"},
    ],
)
async def test_every_error_redirect_carries_iss(f: Flow, overrides: dict[str, str]) -> None:
    answer = await f.get(**overrides)
    got = answer.redirect_params()
    assert answer.status == 302 and got["error"] and got["iss"] == f.system.settings.public_url


async def test_a_denial_carries_iss(f: Flow) -> None:
    answer = await f.decide(await f.consent(), decision="deny")
    got = answer.redirect_params()
    assert got["error"] == "access_denied" and got["iss"] == f.system.settings.public_url
