"""How a log line reaches its stream (``shared.logging.configure_logging``): whole, in one write."""

from __future__ import annotations

import io

import structlog

from shared.logging import configure_logging


class Writes(io.StringIO):
    """A stream that remembers each ``write`` call."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def write(self, text: str) -> int:
        self.calls.append(text)
        return super().write(text)


def test_each_line_is_one_write_with_its_newline() -> None:
    """An unbuffered stderr (``PYTHONUNBUFFERED``, as the stack's children and the image run) turns each
    write into a system call: a line and its newline go in one."""
    for json in (False, True):
        stream = Writes()
        configure_logging(json=json, level="info", stream=stream, cache=False)
        try:
            structlog.get_logger("mavio.test").info("http", method="POST", status=200)
            structlog.get_logger("mavio.test").debug("filtered out")
        finally:
            configure_logging(json=False, level="warning", cache=False)
        assert len(stream.calls) == 1 and stream.calls[0].endswith("\n")
        assert stream.calls[0].count("\n") == 1 and "method" in stream.calls[0]
