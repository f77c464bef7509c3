"""Config: typed settings from the environment; a bad value is a one-line error naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from shared import subjects
from shared.config import ConfigError, load_settings, replicas


def test_defaults() -> None:
    s = load_settings({})
    assert (s.http_port, s.access_token_ttl, s.refresh_token_ttl, s.code_ttl) == (8080, 3600, 2592000, 600)
    assert s.public_url == "http://127.0.0.1:8080"
    assert s.env == "development"


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("MAVIO_HTTP_PORT", "eighty"),
        ("MAVIO_HTTP_PORT", "70000"),
        ("MAVIO_ENV", "staging"),
        ("MAVIO_ACCESS_TOKEN_TTL", "0"),
        ("MAVIO_CODE_TTL", "-5"),
        ("MAVIO_NATS_URL", "http://x"),
        ("MAVIO_REDIS_URL", "localhost:6379"),
        ("MAVIO_LOG_LEVEL", "loud"),
        ("MAVIO_TOKEN_REPLICAS", "many"),
        ("MAVIO_TOKEN_HMAC_KEY", "short"),
        ("MAVIO_LEAK_REPORTER_KEYS_FILE", "/nonexistent/keys.json"),
        ("MAVIO_LEAK_REPORTER_KEYS_URL", "ftp://keys.example/list"),
    ],
)
def test_bad_value_names_the_variable(var: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({var: value})
    assert str(info.value).startswith(f"{var}: ")
    assert "\n" not in str(info.value)


def test_production_requires_hmac_key() -> None:
    with pytest.raises(ConfigError, match="MAVIO_TOKEN_HMAC_KEY"):
        load_settings({"MAVIO_ENV": "production"})


def test_production_requires_an_https_reporter_key_list() -> None:
    prod = {"MAVIO_ENV": "production", "MAVIO_TOKEN_HMAC_KEY": "k" * 40, "MAVIO_KEY_ENCRYPTION_KEY": "e" * 40}
    url = "MAVIO_LEAK_REPORTER_KEYS_URL"
    with pytest.raises(ConfigError, match=r"^MAVIO_LEAK_REPORTER_KEYS_URL: must be https") as err:
        load_settings({**prod, url: "http://keys.example/list"})
    assert "\n" not in str(err.value)
    assert load_settings({**prod, url: "https://keys.example/list"}).leak_reporter_keys_url
    assert load_settings({url: "http://127.0.0.1:9/list"}).leak_reporter_keys_url  # development
    assert load_settings({}).leak_reporter_keys_max_age == 600
    with pytest.raises(ConfigError, match=r"^MAVIO_LEAK_REPORTER_KEYS_MAX_AGE: "):
        load_settings({"MAVIO_LEAK_REPORTER_KEYS_MAX_AGE": "0"})


def test_every_ttl_accepts_one_second() -> None:
    s = load_settings({"MAVIO_ACCESS_TOKEN_TTL": "1", "MAVIO_REFRESH_TOKEN_TTL": "1", "MAVIO_CODE_TTL": "1"})
    assert (s.access_token_ttl, s.refresh_token_ttl, s.code_ttl) == (1, 1, 1)


@pytest.mark.parametrize("module", ["services.stack", "services.token", "services.gateway"])
def test_process_exits_with_one_line_error(module: str) -> None:
    env = dict(os.environ, MAVIO_HTTP_PORT="not-a-port")
    proc = subprocess.run([sys.executable, "-m", module], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "MAVIO_HTTP_PORT" in lines[0] and "Traceback" not in proc.stderr


def test_make_run_starts_two_token_replicas_and_one_of_every_other_service_unless_told() -> None:
    assert replicas({}, "token") == 2
    assert all(replicas({}, service) == 1 for service in subjects.SERVICES if service != "token")
    assert replicas({}, "gateway") == 1
    assert replicas({"MAVIO_TOKEN_REPLICAS": "1"}, "token") == 1
    assert replicas({"MAVIO_REGISTRY_REPLICAS": "3"}, "registry") == 3
