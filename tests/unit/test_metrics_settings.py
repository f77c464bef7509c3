"""``MAVIO_METRICS_HOST`` / ``MAVIO_METRICS_PORT``: a bad value, or an address this host cannot listen
on, is one line on stderr and exit status 2, never a traceback (a real service process)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from shared.config import ConfigError, load_settings
from shared.metrics_server import bind_port


def test_the_metrics_host_must_be_an_ip_address() -> None:
    assert load_settings({"MAVIO_METRICS_HOST": " 0.0.0.0 "}).metrics_host == "0.0.0.0"
    assert load_settings({}).metrics_host == "127.0.0.1"
    with pytest.raises(ConfigError, match="MAVIO_METRICS_HOST: expected an IP address"):
        load_settings({"MAVIO_METRICS_HOST": "metrics.example"})


def test_a_taken_base_port_moves_to_the_next_one() -> None:
    first = bind_port("127.0.0.1", 0)
    base = first.getsockname()[1]
    try:
        second = bind_port("127.0.0.1", base)
        assert second.getsockname()[1] != base
        second.close()
    finally:
        first.close()


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("metrics.example", "MAVIO_METRICS_HOST: expected an IP address, got 'metrics.example'"),
        ("192.0.2.1", "MAVIO_METRICS_HOST/MAVIO_METRICS_PORT: cannot listen on 192.0.2.1 port 0: "),
    ],
)
def test_a_service_that_cannot_serve_its_metrics_says_why_and_exits_2(host: str, message: str) -> None:
    env = {**os.environ, "MAVIO_METRICS_HOST": host, "MAVIO_METRICS_PORT": "0"}
    proc = subprocess.run(
        [sys.executable, "-m", "services.registry"], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"mavio registry: configuration error: {message}"), lines
