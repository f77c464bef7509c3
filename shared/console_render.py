"""The development log line (``MAVIO_LOG_JSON`` off, as ``make run`` ships): structlog's
``ConsoleRenderer(colors=False)`` output, made without its per-column ``StringIO`` work.

One line per request costs the gateway about 20 µs in ``ConsoleRenderer``; ``PlainConsoleRenderer``
writes the same text in a few µs: the timestamp, ``[level]`` padded to the longest level name, the
event padded to ``PAD_EVENT`` characters, ``[logger]``, then the other keys sorted as ``key=value``
(a string as it is unless it holds a space, a tab, ``=``, a line break or a quote, then its ``repr``;
anything else its ``repr``). An event with a stack or an exception goes to ``ConsoleRenderer`` itself.
``tests/unit/test_console_render.py`` holds that the two give the same text for any event.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, Final

import structlog

PAD_EVENT: Final = 30  # ConsoleRenderer's default ``pad_event_to``
# ConsoleRenderer pads the level to its longest known level name ("exception")
LEVEL_WIDTH: Final = len(max(structlog.dev.ConsoleRenderer.get_default_level_styles(colors=False), key=len))
_QUOTED: Final = frozenset(" \t=\r\n\"'")
_OWN: Final = ("stack", "exception", "exc_info")  # left to ConsoleRenderer
_COLUMNS: Final = frozenset({"timestamp", "level", "event", "logger", "logger_name"})


def _value(value: object) -> str:
    if isinstance(value, str):
        return repr(value) if not _QUOTED.isdisjoint(value) else value
    return repr(value)


class PlainConsoleRenderer:
    """A structlog processor: the event as ``ConsoleRenderer(colors=False)`` renders it."""

    def __init__(self) -> None:
        self._full = structlog.dev.ConsoleRenderer(colors=False, pad_event_to=PAD_EVENT)

    def __call__(self, logger: Any, name: str, event_dict: MutableMapping[str, Any]) -> str:
        if any(key in event_dict for key in _OWN):
            return str(self._full(logger, name, event_dict))
        parts = []
        if "timestamp" in event_dict:
            parts.append(str(event_dict["timestamp"]))
        if "level" in event_dict:
            parts.append(f"[{str(event_dict['level']).ljust(LEVEL_WIDTH)}]")
        if "event" in event_dict:
            parts.append(str(event_dict["event"]).ljust(PAD_EVENT))
        for key in ("logger", "logger_name"):
            if key in event_dict:
                parts.append(f"[{event_dict[key]}]")
        parts += [f"{key}={_value(event_dict[key])}" for key in sorted(event_dict) if key not in _COLUMNS]
        return " ".join(part for part in parts if part).rstrip(" ")
