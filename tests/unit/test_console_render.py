"""The development log line (``shared.console_render``): exactly structlog's
``ConsoleRenderer(colors=False)`` text, for any event."""

from __future__ import annotations

import sys
from typing import Any

import structlog
from hypothesis import given
from hypothesis import strategies as st

from shared.console_render import PlainConsoleRenderer

_KEYS = st.sampled_from(
    [
        "timestamp",
        "level",
        "event",
        "logger",
        "logger_name",
        "request_id",
        "method",
        "path",
        "status",
        "ms",
        "a",
    ]
) | st.text(min_size=1, max_size=8)
_VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "a=b", 'say "hi"', "it's", "tab\there", "line\nbreak", "info", "/oauth/token"]),
    st.integers(),
    st.floats(allow_nan=False),
    st.none(),
    st.booleans(),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _both(event: dict[str, Any]) -> tuple[str, str]:
    reference = structlog.dev.ConsoleRenderer(colors=False)
    return PlainConsoleRenderer()(None, "info", dict(event)), reference(None, "info", dict(event))


@given(st.dictionaries(_KEYS, _VALUES, max_size=8))
def test_any_event_renders_as_console_renderer_does(event: dict[str, Any]) -> None:
    if "level" in event and not isinstance(event["level"], str):
        event["level"] = "warning"  # add_log_level always sets a level name
    ours, theirs = _both(event)
    assert ours == theirs


def test_the_gateways_request_line() -> None:
    event = {
        "event": "http",
        "method": "POST",
        "path": "/oauth/token",
        "status": 200,
        "ms": 1.3,
        "request_id": "0123456789abcdef0123456789abcdef",
        "level": "info",
        "timestamp": "2026-12-07T19:15:32.123456Z",
    }
    ours, theirs = _both(event)
    assert ours == theirs
    assert ours.startswith("2026-12-07T19:15:32.123456Z [info     ] http ")


def test_an_exception_or_a_stack_is_left_to_console_renderer() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        exc_info = sys.exc_info()
    for extra in ({"exc_info": exc_info}, {"exception": "Traceback ...\nValueError: boom"}, {"stack": "s"}):
        ours, theirs = _both({"event": "failed", "level": "error", **extra})
        assert ours == theirs
        assert "boom" in ours or "s" in ours.splitlines()[-1]
