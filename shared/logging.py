"""Logging set-up: structlog (contextvars first, redaction, JSON in production, console in development)
and every stdlib logger (aiohttp's, nats', redis') routed through the same redaction and renderer.

Redaction, one implementation used everywhere (``redact`` processor, ``RedactingFilter``):
- values of known secret fields (``SECRET_FIELDS``) at any depth of a structured event;
- in any string: anything shaped like a Mavio token or client secret (``shared.tokens.SECRET_PATTERN``),
  ``Basic``/``Bearer`` credentials, session and sign-in CSRF cookie values, and ``name=value`` /
  ``"name": "value"`` pairs of the secret fields (query strings, form bodies, JSON in messages).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, Final, TextIO

import structlog

from shared.console_render import PlainConsoleRenderer
from shared.tokens import SECRET_PATTERN

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
        "device_code",
        "user_code",
        "authorization",
        "cookie",
        "set-cookie",
        "session",
        "csrf",
        "csrf_token",
        "consent_token",
        "id_token",  # OpenID Connect: a signed statement about the user, and a hint that names them
        "id_token_hint",
        "mavio_session",
        "mavio_login_csrf",
    }
)
REDACTED = "[redacted]"
_NAMES = "|".join(sorted((re.escape(f) for f in SECRET_FIELDS), key=len, reverse=True))
_SHAPES = (
    (SECRET_PATTERN, REDACTED),
    (re.compile(r"(?<![A-Za-z_])(Basic|Bearer)\s+[A-Za-z0-9+/=._~%-]{8,}", re.IGNORECASE), r"\1 " + REDACTED),
    # name=value in query strings, form bodies, cookie headers (``__Host-`` prefixed cookies too)
    (re.compile(rf"(?i)(?<![\w-])((?:__Host-)?(?:{_NAMES}))=[^&;\s'\",]*"), r"\1=" + REDACTED),
    # "name": "value" in JSON or reprs
    (re.compile(rf"""(?i)(["']({_NAMES})["']\s*:\s*)(["'])[^"']*\3"""), r"\1\3" + REDACTED + r"\3"),
)


def may_hold_secret(text: str) -> bool:
    """False only when no pattern of ``_SHAPES`` can match ``text`` (a few substring scans instead of four
    regular expressions: most logged values, such as a method, a path or a request id, hold none).

    Each shape needs something checked here: a Mavio secret ``mavio_``; a credential ``basic`` or
    ``bearer`` (any case; non-ASCII text always takes the patterns, since case-insensitive matching
    also folds a few non-ASCII letters onto ASCII ones); a ``name=value`` pair ``=``; a quoted
    ``"name": "value"`` pair a quote."""
    if not text.isascii() or "=" in text or '"' in text or "'" in text or "mavio_" in text:
        return True
    lower = text.lower()
    return "basic" in lower or "bearer" in lower


def redact_text(text: str) -> str:
    """``text`` with every secret-shaped part replaced by ``[redacted]``."""
    if not may_hold_secret(text):
        return text
    for pattern, replacement in _SHAPES:
        text = pattern.sub(replacement, text)
    return text


# Values ``_scrub`` returns as they are (exact types: a subclass may render as text).
_UNCHANGED: Final = frozenset({int, float, bool, type(None)})


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes | bytearray):
        return redact_text(bytes(value).decode("utf-8", "replace"))
    if isinstance(value, dict):
        return {k: REDACTED if str(k).lower() in SECRET_FIELDS else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Processor: drop secret fields and mask secret-shaped substrings."""
    for key, value in list(event_dict.items()):
        if key.lower() in SECRET_FIELDS:
            event_dict[key] = REDACTED
        elif type(value) in _UNCHANGED or key.startswith("_"):  # ``_record``...: structlog's bookkeeping
            continue
        elif type(value) is str:  # most values: a str, kept as it is when no pattern can match it
            if may_hold_secret(value):
                event_dict[key] = redact_text(value)
        else:
            event_dict[key] = _scrub(value)
    return event_dict


class RedactingFilter(logging.Filter):
    """For stdlib handlers: the record's message, arguments and traceback reduced to redacted text
    before any formatter sees them (a logger's own filter would miss records of its children)."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if record.exc_info:  # the traceback becomes part of the (redacted) message
            text += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = None
        record.msg = redact_text(text)
        record.args = None
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


def _renderer(json: bool) -> Any:
    return structlog.processors.JSONRenderer() if json else PlainConsoleRenderer()


def _stdlib_handler(json: bool, stream: TextIO) -> logging.Handler:
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                redact,
            ],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, _renderer(json)],
        )
    )
    return handler


def configure_logging(
    *, json: bool, level: str = "info", stream: TextIO | None = None, cache: bool = True
) -> None:
    """Configure structlog and the stdlib root logger once per process (called from each ``__main__``).

    ``stream`` defaults to stderr; tests pass their own and ``cache=False`` to reconfigure at will.
    """
    out = stream or sys.stderr
    numeric = logging.getLevelNamesMapping()[level.upper()]
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact,
            _renderer(json),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.WriteLoggerFactory(file=out),  # one write per line (print: two)
        cache_logger_on_first_use=cache,
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_mavio", False)]:
        root.removeHandler(old)
    handler = _stdlib_handler(json, out)
    handler._mavio = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(numeric)
