"""RFC 8628 user codes (§6.1): 8 characters of ``BCDFGHJKLMNPQRSTVWXZ`` (no vowels, so no words and
no 0/O or 1/I confusion), shown and sent as ``XXXX-XXXX``, typed in any case, with or without the dash
or spaces. Pure, no I/O; the server keeps only the HMAC of the normalised code."""

from __future__ import annotations

import secrets
from typing import Final

ALPHABET: Final = "BCDFGHJKLMNPQRSTVWXZ"
LENGTH: Final = 8
_SEPARATORS: Final = str.maketrans("", "", "- \t")


def new_user_code() -> str:
    """A fresh user code as shown: ``XXXX-XXXX`` (20**8, about 34 bits: guessing is rate-limited)."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def normalise(typed: str) -> str | None:
    """The 8 characters of a typed user code, upper case, without dashes or spaces; None when what was
    typed cannot be a user code (wrong length or a character outside the alphabet)."""
    if not isinstance(typed, str) or len(typed) > 32:
        return None
    code = typed.translate(_SEPARATORS).upper()
    if len(code) != LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code


def shown(code: str) -> str:
    """A normalised code as the user sees it: ``XXXX-XXXX``."""
    return f"{code[:4]}-{code[4:]}"
