"""structlog set-up: contextvars first, a redaction processor, JSON in production, console in development."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# Field names whose values never reach a log line.
SECRET_FIELDS = frozenset(
    {
        "token",
        "code",
        "client_secret",
        "refresh_token",
        "access_token",
        "password",
        "code_verifier",
        "authorization",
        "cookie",
        "session",
        "csrf",
    }
)
# Anything shaped like a Mavio secret, wherever it appears in a string.
_SECRET_SHAPE = re.compile(r"mavio_(?:at|rt|code|cs)_[0-9A-Za-z]+")
REDACTED = "[redacted]"


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _SECRET_SHAPE.sub(REDACTED, value)
    if isinstance(value, dict):
        return {k: REDACTED if str(k).lower() in SECRET_FIELDS else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Processor: drop secret fields and mask token-shaped substrings."""
    for key in list(event_dict):
        if key.lower() in SECRET_FIELDS:
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _scrub(event_dict[key])
    return event_dict


def configure_logging(*, json: bool, level: str = "info") -> None:
    """Configure structlog once per process (called from each ``__main__``)."""
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
