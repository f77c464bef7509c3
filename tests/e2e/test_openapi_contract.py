"""The OpenAPI 3.1 contract (``services.gateway.openapi_doc``, served at ``/api/openapi.json``), run with
schemathesis against a live gateway: for every operation, valid and invalid generated requests (signed
in for the apps API) get no 5xx, and every response's status, content type and body match the document.

Bounded: ``EXAMPLES`` requests per operation and mode, no shrinking database; schemathesis runs in a
thread (it is synchronous) while the gateway serves on this test's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.gateway.openapi_doc import PATH
from services.gateway.sessions import COOKIE
from tests.support.factories import create_app, signed_in_client
from tests.support.system import System, start_system

EXAMPLES = 15
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
async def live() -> AsyncIterator[System]:
    system = await start_system({"MAVIO_CLIENT_AUTH_MAX_FAILURES": "100000"})
    yield system
    await system.close()


def run_contract(spec: dict[str, Any], base_url: str, cookie: str) -> list[str]:
    """Every operation in both generation modes; the failures, one line each."""
    schema = schemathesis.openapi.from_dict(spec)
    failures: list[str] = []
    http = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def exercise(case: Any) -> None:
                case.call_and_validate(
                    base_url=base_url,
                    session=http,
                    cookies={COOKIE: cookie},
                    checks=CHECKS,
                    allow_redirects=False,
                    timeout=30,
                )

            try:
                exercise()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE and not list(
                    operation.iter_parameters()
                )  # none to break
            except Exception as exc:  # a check failed: collect them all, report at once
                failures.append(f"{operation.label} [{mode.value}]: {str(exc)[:1500]}")
    return failures


async def test_the_document_is_served_and_is_openapi_3_1(live: System) -> None:
    async with live.http.get(live.url(PATH)) as resp:
        assert resp.status == 200 and resp.content_type == "application/json"
        spec = await resp.json()
    assert spec["openapi"] == "3.1.0" and "/oauth/token" in spec["paths"]
    schemathesis.openapi.from_dict(spec)  # loads (a malformed document raises)


async def test_every_operation_keeps_to_the_contract(live: System) -> None:
    async with live.http.get(live.url(PATH)) as resp:
        spec = await resp.json()
    http, account = await signed_in_client(live)
    cookie = next(c.value for c in http.cookie_jar if c.key == COOKIE)
    await http.close()
    await create_app(live, account)  # so the app routes have something to find
    failures = await asyncio.to_thread(run_contract, spec, live.base_url, cookie)
    assert not failures, "\n\n".join(failures)
