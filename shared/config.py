"""Settings: one typed Struct built once from the environment (``MAVIO_*`` variables).

A bad value raises ``ConfigError`` whose message is one line naming the variable; each
``__main__`` prints it and exits with status 2 (no traceback).
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import msgspec

Env = Literal["development", "production"]
LogLevel = Literal["debug", "info", "warning", "error"]

# Development-only HMAC key: production must set MAVIO_TOKEN_HMAC_KEY.
DEV_HMAC_KEY = "mavio-development-only-hmac-key-not-for-production-use"
# Development-only key-encryption key: production must set MAVIO_KEY_ENCRYPTION_KEY.
DEV_KEY_ENCRYPTION_KEY = "mavio-development-only-key-encryption-key-not-for-production"


class ConfigError(Exception):
    """A one-line, user-facing configuration error."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    env: Env = "development"
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    public_url: str = "http://127.0.0.1:8080"
    nats_url: str = "nats://127.0.0.1:4222"
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_cluster: bool = False
    nats_user: str = ""  # this process's bus identity (``shared.bus_auth.USERS``); "" = none
    nats_password: str = ""
    nats_audit_password: str = (
        ""  # the JetStream connection's (``bus_auth.JETSTREAM_USERS``: ``audit``, or webhooks' own)
    )
    redis_user: str = ""  # Redis ACL user; "" = the default user
    redis_password: str = ""
    access_token_ttl: int = 3600
    refresh_token_ttl: int = 2_592_000
    id_token_ttl: int = 0  # OpenID Connect ID tokens; 0 = the access token's (``id_token_lifetime``)
    code_ttl: int = 600
    device_code_ttl: int = 900  # RFC 8628 device_code / user_code lifetime (``expires_in``)
    device_guess_max: int = 10  # user codes tried per sign-in session per rate-limit window (then 429)
    device_guess_address_max: int = 50  # user codes tried per network address per window (then 429)
    consent_ttl: int = 900
    consent_pages_max: int = 20  # open consent pages per user; a new page over the cap drops the oldest
    session_ttl: int = 43_200
    refresh_replay_window: int = 10
    sweep_interval: float = 10.0
    audit_replicas: int = 1  # JetStream replicas of MAVIO_AUDIT: 3 on a 3-node NATS cluster (production)
    bus_timeout: float = 5.0
    bus_flush_every: int = 16  # queued bus commands written out without waiting for the loop (0 = per loop)
    calls_report_max: int = 1000  # app ids one ``token.calls`` report may name (more: invalid_request)
    app_cache_ttl: float = 30.0
    log_level: LogLevel = "info"
    log_json: bool = False
    token_hmac_key: str = DEV_HMAC_KEY
    # Seals what must stay usable at rest (signing keys, webhook secrets): ``shared.sealing``.
    key_encryption_key: str = DEV_KEY_ENCRYPTION_KEY
    metrics_port: int = 0  # each service's /metrics: a base port (replicas take the next free), 0 = free
    metrics_host: str = "127.0.0.1"
    login_max_failures: int = 10
    login_concurrency: int = 4
    login_queue_wait: float = 5.0  # seconds a sign-in may wait for a password-check slot (0 = none)
    client_auth_max_failures: int = 20
    rate_limit_window: int = 900
    http_header_timeout: float = 15.0
    http_idle_timeout: float = 75.0
    http_body_timeout: float = 30.0
    trusted_proxies: tuple[str, ...] = ()
    # Trusted leak reporters' public keys (GitHub's key-list JSON): a file, or a URL fetched and cached;
    # neither: ``POST /oauth/leaked-credentials`` answers 404 (``shared.leak_reporters``).
    leak_reporter_keys_file: str = ""
    leak_reporter_keys_url: str = ""  # https in production (http only in development)
    leak_reporter_keys_max_age: float = 600.0  # seconds before the key list is read again anyway
    # Bus users of resource servers (one per resource service, each with its own ``_INBOX.<user>.``).
    resource_bus_users: tuple[str, ...] = ("resource",)
    # Full-rights bus users whose inboxes the services also answer (the tests' harness; none in production).
    bus_admin_users: tuple[str, ...] = ()
    # Developer webhooks (``services.webhooks``): seconds for one attempt, the delays between attempts,
    # deliveries in flight per app.
    webhook_timeout: float = 10.0
    webhook_retry_schedule: tuple[float, ...] = (5.0, 300.0, 1800.0, 7200.0, 18_000.0, 36_000.0, 36_000.0)
    webhook_max_in_flight: int = 10
    # Jobs the delivery queue's consumer hands out unacknowledged (only those in hand: a job waiting for
    # its next attempt is a JetStream schedule, acknowledged, so it never counts).
    webhook_max_ack_pending: int = 1000

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def hmac_key(self) -> bytes:
        return self.token_hmac_key.encode()

    @property
    def encryption_key(self) -> bytes:
        return self.key_encryption_key.encode()

    @property
    def id_token_lifetime(self) -> int:
        """Seconds an ID token is valid: ``MAVIO_ID_TOKEN_TTL``, by default the access token's."""
        return self.id_token_ttl or self.access_token_ttl


def _int(lo: int, hi: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"expected a whole number, got {raw!r}") from None
        if not lo <= value <= hi:
            raise ValueError(f"expected a number from {lo} to {hi}, got {value}")
        return value

    return parse


def _float(lo: float, hi: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"expected a number, got {raw!r}") from None
        if not lo <= value <= hi:
            raise ValueError(f"expected a number from {lo:g} to {hi:g}, got {value:g}")
        return value

    return parse


def _choice(*options: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in options:
            raise ValueError(f"expected one of {', '.join(options)}, got {raw!r}")
        return value

    return parse


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def _url(*schemes: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        parts = urlsplit(raw.strip())
        if parts.scheme not in schemes or not parts.hostname:
            raise ValueError(f"expected a {' or '.join(schemes)} URL, got {raw!r}")
        return raw.strip().rstrip("/") if parts.scheme.startswith("http") else raw.strip()

    return parse


def _readable_file(raw: str) -> str:
    path = raw.strip()
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        raise ValueError(f"no readable file at {path!r}")
    return path


def _nats_urls(raw: str) -> str:
    for one in raw.split(","):
        _url("nats", "tls")(one)
    return raw.strip()


def _networks(raw: str) -> tuple[str, ...]:
    """Comma-separated IP addresses or CIDR networks (``10.0.0.0/8, ::1``), checked and normalised."""
    out = []
    for one in filter(None, (part.strip() for part in raw.split(","))):
        try:
            out.append(str(ipaddress.ip_network(one, strict=False)))
        except ValueError:
            raise ValueError(f"expected IP addresses or networks, got {one!r}") from None
    return tuple(out)


def _bus_users(raw: str) -> tuple[str, ...]:
    """Comma-separated NATS user names (letters, digits, ``-`` and ``_``), e.g. ``resource,meetings-api``."""
    names = tuple(filter(None, (part.strip() for part in raw.split(","))))
    for name in names:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name):
            raise ValueError(f"expected bus user names of letters, digits, - and _, got {name!r}")
    return names


def _ip_address(raw: str) -> str:
    """An IP address to listen on (``0.0.0.0``: every interface)."""
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError:
        raise ValueError(f"expected an IP address, got {raw!r}") from None


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0}


def _schedule(raw: str) -> tuple[float, ...]:
    """Comma-separated delays, each a number and a unit (``ms``, ``s``, ``m``, ``h``, ``d``):
    ``5s,5m,30m,2h``; empty = no retry."""
    out = []
    for one in filter(None, (part.strip().lower() for part in raw.split(","))):
        match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)", one)
        if match is None:
            raise ValueError(f"expected delays like 5s,5m,30m,2h, got {one!r}")
        out.append(float(match[1]) * _UNITS[match[2]])
    if len(out) > 20 or any(d > 7 * 86_400 for d in out):
        raise ValueError("expected at most 20 delays of at most 7d each")
    return tuple(out)


def _hmac_key(raw: str) -> str:
    if len(raw.encode()) < 32:
        raise ValueError("expected at least 32 bytes of secret key material")
    return raw


_DAY = 86_400
_PARSERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "MAVIO_ENV": ("env", _choice("development", "production")),
    "MAVIO_HTTP_HOST": ("http_host", str.strip),
    "MAVIO_HTTP_PORT": ("http_port", _int(1, 65535)),
    "MAVIO_PUBLIC_URL": ("public_url", _url("http", "https")),
    "MAVIO_NATS_URL": ("nats_url", _nats_urls),
    "MAVIO_REDIS_URL": ("redis_url", _url("redis", "rediss")),
    "MAVIO_REDIS_CLUSTER": ("redis_cluster", _bool),
    "MAVIO_NATS_USER": ("nats_user", str.strip),
    "MAVIO_NATS_PASSWORD": ("nats_password", str),
    "MAVIO_NATS_AUDIT_PASSWORD": ("nats_audit_password", str),
    "MAVIO_REDIS_USER": ("redis_user", str.strip),
    "MAVIO_REDIS_PASSWORD": ("redis_password", str),
    "MAVIO_ACCESS_TOKEN_TTL": ("access_token_ttl", _int(1, 30 * _DAY)),
    "MAVIO_REFRESH_TOKEN_TTL": ("refresh_token_ttl", _int(1, 400 * _DAY)),
    "MAVIO_ID_TOKEN_TTL": ("id_token_ttl", _int(1, _DAY)),
    "MAVIO_CODE_TTL": ("code_ttl", _int(1, 3600)),
    "MAVIO_DEVICE_CODE_TTL": ("device_code_ttl", _int(1, _DAY)),
    "MAVIO_DEVICE_GUESS_MAX": ("device_guess_max", _int(1, 10_000)),
    "MAVIO_DEVICE_GUESS_ADDRESS_MAX": ("device_guess_address_max", _int(1, 100_000)),
    "MAVIO_CONSENT_TTL": ("consent_ttl", _int(1, _DAY)),
    "MAVIO_CONSENT_PAGES_MAX": ("consent_pages_max", _int(1, 1000)),
    "MAVIO_SESSION_TTL": ("session_ttl", _int(1, 30 * _DAY)),
    "MAVIO_REFRESH_REPLAY_WINDOW": ("refresh_replay_window", _int(0, 300)),
    "MAVIO_SWEEP_INTERVAL": ("sweep_interval", _float(0.05, 3600)),
    "MAVIO_AUDIT_REPLICAS": ("audit_replicas", _int(1, 5)),
    "MAVIO_BUS_TIMEOUT": ("bus_timeout", _float(0.05, 120)),
    "MAVIO_BUS_FLUSH_EVERY": ("bus_flush_every", _int(0, 10_000)),
    "MAVIO_CALLS_REPORT_MAX": ("calls_report_max", _int(1, 100_000)),
    "MAVIO_APP_CACHE_TTL": ("app_cache_ttl", _float(0, 3600)),
    "MAVIO_LOG_LEVEL": ("log_level", _choice("debug", "info", "warning", "error")),
    "MAVIO_LOG_JSON": ("log_json", _bool),
    "MAVIO_TOKEN_HMAC_KEY": ("token_hmac_key", _hmac_key),
    "MAVIO_KEY_ENCRYPTION_KEY": ("key_encryption_key", _hmac_key),
    "MAVIO_METRICS_PORT": ("metrics_port", _int(0, 65535)),
    "MAVIO_METRICS_HOST": ("metrics_host", _ip_address),
    "MAVIO_LOGIN_MAX_FAILURES": ("login_max_failures", _int(1, 10_000)),
    "MAVIO_LOGIN_CONCURRENCY": ("login_concurrency", _int(1, 256)),
    "MAVIO_LOGIN_QUEUE_WAIT": ("login_queue_wait", _float(0, 120)),
    "MAVIO_CLIENT_AUTH_MAX_FAILURES": ("client_auth_max_failures", _int(1, 100_000)),
    "MAVIO_RATE_LIMIT_WINDOW": ("rate_limit_window", _int(1, _DAY)),
    "MAVIO_HTTP_HEADER_TIMEOUT": ("http_header_timeout", _float(0.1, 3600)),
    "MAVIO_HTTP_BODY_TIMEOUT": ("http_body_timeout", _float(0.1, 3600)),
    "MAVIO_HTTP_IDLE_TIMEOUT": ("http_idle_timeout", _float(0.1, 3600)),
    "MAVIO_TRUSTED_PROXIES": ("trusted_proxies", _networks),
    "MAVIO_LEAK_REPORTER_KEYS_FILE": ("leak_reporter_keys_file", _readable_file),
    "MAVIO_LEAK_REPORTER_KEYS_URL": ("leak_reporter_keys_url", _url("https", "http")),
    "MAVIO_LEAK_REPORTER_KEYS_MAX_AGE": ("leak_reporter_keys_max_age", _float(1, 7 * _DAY)),
    "MAVIO_RESOURCE_BUS_USERS": ("resource_bus_users", _bus_users),
    "MAVIO_BUS_ADMIN_USERS": ("bus_admin_users", _bus_users),
    "MAVIO_WEBHOOK_TIMEOUT": ("webhook_timeout", _float(0.05, 60)),
    "MAVIO_WEBHOOK_RETRY_SCHEDULE": ("webhook_retry_schedule", _schedule),
    "MAVIO_WEBHOOK_MAX_IN_FLIGHT": ("webhook_max_in_flight", _int(1, 1000)),
    "MAVIO_WEBHOOK_MAX_ACK_PENDING": ("webhook_max_ack_pending", _int(1, 100_000)),
}

# Secrets: an empty value is an error (too short), never "unset".
_SECRET_FIELDS = ("token_hmac_key", "key_encryption_key")

# Variables read by the local launcher, validated here so a typo fails fast everywhere.
REPLICA_VARIABLES = {
    f"MAVIO_{name.upper()}_REPLICAS": name
    for name in ("authorize", "token", "registry", "revocation", "webhooks", "gateway")
}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from ``environ`` (default ``os.environ``); raise ConfigError on a bad value."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for var, (field, parse) in _PARSERS.items():
        raw = env.get(var)
        if raw is None or (raw.strip() == "" and field not in _SECRET_FIELDS):
            continue
        try:
            values[field] = parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{var}: {exc}") from None
    for var in REPLICA_VARIABLES:
        if var in env:
            try:
                _int(0, 64)(env[var])
            except ValueError as exc:
                raise ConfigError(f"{var}: {exc}") from None
    if values.get("env") == "production":
        for field in _SECRET_FIELDS:
            if field not in values:
                var = next(v for v, (f, _) in _PARSERS.items() if f == field)
                raise ConfigError(f"{var}: required when MAVIO_ENV=production")
        if values.get("leak_reporter_keys_url", "https:").split(":", 1)[0] != "https":
            raise ConfigError("MAVIO_LEAK_REPORTER_KEYS_URL: must be https when MAVIO_ENV=production")
    if "public_url" not in values and "http_port" in values:
        values["public_url"] = f"http://127.0.0.1:{values['http_port']}"
    return Settings(**values)


# ``make run``'s replica counts when ``MAVIO_<SERVICE>_REPLICAS`` is not set: one of each, but two of the
# token service. It is the CPU-bound hot path (every API call's verification, every token pair, an RSA
# signature per ID token, ~0.4 ms), and a Python process uses one core: with one replica a 2-core
# machine signs on one core while the other idles; Compose and Kubernetes run three.
MAKE_RUN_REPLICAS: Final[Mapping[str, int]] = {"token": 2}


def replicas(environ: Mapping[str, str], service: str) -> int:
    """How many ``service`` processes ``make run`` starts: ``MAVIO_<SERVICE>_REPLICAS``, else
    ``MAKE_RUN_REPLICAS`` (1 for a service it does not name)."""
    raw = environ.get(f"MAVIO_{service.upper()}_REPLICAS")
    return MAKE_RUN_REPLICAS.get(service, 1) if raw is None else int(raw)
