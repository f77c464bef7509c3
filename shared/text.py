"""Text shown to users: the characters that may never be part of it (pure)."""

from __future__ import annotations

from typing import Final

# Unicode bidirectional controls (UAX #9): embeddings and overrides U+202A-U+202E, isolates
# U+2066-U+2069, and the implicit marks LRM, RLM and ALM. They make text render differently from its
# stored characters ("Trojan Source"), e.g. an app name or URL on the consent page that reads as
# another; they are refused in every field shown to users.
BIDI_CONTROLS: Final = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


def has_bidi_control(text: str) -> bool:
    return any(c in BIDI_CONTROLS for c in text)
