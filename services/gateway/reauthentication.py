"""Where an authorization request continues after the sign-in it asked for (OpenID Connect Core 1.0
§3.1.2.1: ``prompt=login`` / ``select_account``, ``max_age``).

The sign-in page returns the user to the same request with ``login`` and ``select_account`` dropped
from ``prompt``, and ``max_age`` and ``id_token_hint`` dropped: the sign-in just made satisfies them
(the user chose whom to sign in as), so the request does not ask for it again (no loop). The ID token
still carries the new ``auth_time``.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode, urlsplit

REAUTHENTICATE = frozenset({"login", "select_account"})
DROPPED = ("max_age", "id_token_hint")


def continue_after_sign_in(back_to: str) -> str:
    """``back_to`` (a path with its query) without what asked for a fresh sign-in."""
    parts = urlsplit(back_to)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if not any(name in ("prompt", *DROPPED) for name, _ in query):
        return back_to
    kept: list[tuple[str, str]] = []
    for name, value in query:
        if name in DROPPED:
            continue
        if name == "prompt":
            value = " ".join(p for p in value.split() if p not in REAUTHENTICATE)
            if not value:
                continue
        kept.append((name, value))
    return parts.path + ("?" + urlencode(kept, quote_via=quote) if kept else "")
