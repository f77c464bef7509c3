"""``python -m shared.probe SERVICE``, the readiness probe of deploy/k8s/: a real replica's health
round trip on the bus as the service's own bus user, exit 0; anything else a one-line reason and 1."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

from shared import subjects
from tests.support.system import System


async def probe(system: System, user: str, *args: str, **env: str) -> tuple[int, str, str]:
    """The probe as a child process (the services answer from this test's event loop meanwhile)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shared.probe",
        *args,
        env={**os.environ, **system.servers.env(user), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.parametrize("service", subjects.SERVICES)
async def test_each_service_is_ready_to_its_own_probe(system: System, service: str) -> None:
    status, out, err = await probe(system, service, service)
    assert status == 0, err
    assert out.startswith(f"probe: {service} ready (instance ")


async def test_a_user_may_not_probe_another_service(system: System) -> None:
    status, _, err = await probe(system, "authorize", "token")  # the bus refuses the publish
    assert status == 1 and err.startswith("probe: token not answering"), err
    assert "Traceback" not in err


async def test_a_wrong_password_is_not_ready(system: System) -> None:
    status, _, err = await probe(system, "token", "token", MAVIO_NATS_PASSWORD="not-the-password")
    assert status == 1 and err.startswith("probe: token not answering"), err
    assert "Traceback" not in err and "not-the-password" not in err


async def test_bad_usage_exits_2(system: System) -> None:
    for args in ((), ("gateway",), ("token", "extra")):
        status, _, err = await probe(system, "token", *args)
        assert status == 2 and err.startswith("usage: python -m shared.probe"), (args, err)
