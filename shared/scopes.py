"""The scope catalog (``scopes.toml``) and scope-string helpers (RFC 6749 §3.3)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from importlib import resources
from typing import Literal

import msgspec

from shared.errors import InvalidScope

Plan = Literal["free", "pro", "business"]
PLANS: tuple[Plan, ...] = ("free", "pro", "business")

# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]+")  # fullmatch: "$" would allow a final newline


class ScopeInfo(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    description: str
    plans: tuple[Plan, ...]


class _CatalogFile(msgspec.Struct):
    scope: list[ScopeInfo]


class ScopeCatalog:
    """Read-only view of the catalog; build once and pass it down."""

    def __init__(self, scopes: list[ScopeInfo]) -> None:
        self._scopes = {s.name: s for s in scopes}

    @classmethod
    def load(cls) -> ScopeCatalog:
        raw = resources.files("shared").joinpath("scopes.toml").read_bytes()
        return cls(msgspec.toml.decode(raw, type=_CatalogFile).scope)

    def __contains__(self, name: object) -> bool:
        return name in self._scopes

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._scopes.values())

    def names(self) -> tuple[str, ...]:
        return tuple(self._scopes)

    def get(self, name: str) -> ScopeInfo:
        return self._scopes[name]

    def allowed_for_plan(self, plan: str) -> frozenset[str]:
        return frozenset(n for n, s in self._scopes.items() if plan in s.plans)

    def ordered(self, names: frozenset[str] | set[str] | list[str] | tuple[str, ...]) -> list[str]:
        """``names`` in catalog order (unknown names last, sorted)."""
        known = [n for n in self._scopes if n in names]
        return known + sorted(set(names) - set(known))


def parse_scope(value: str) -> list[str]:
    """Split a space-delimited scope string, keeping first-seen order and dropping duplicates.

    Raises ``ValueError`` on a token outside the RFC 6749 §3.3 character set.
    """
    out: list[str] = []
    for tok in value.split(" "):
        if not tok:
            continue
        if not _SCOPE_TOKEN.fullmatch(tok):
            raise ValueError(f"malformed scope token {tok!r}")
        if tok not in out:
            out.append(tok)
    return out


def join_scope(names: list[str] | tuple[str, ...]) -> str:
    return " ".join(names)


# Error descriptions never echo request text (RFC 9700 §4.11.2: no attacker-chosen text on the client's
# page); a scope is named only once it is known to be in the catalog.
UNKNOWN_SCOPE = "the request names a scope that does not exist"


def requested_scopes(value: str, approved: Sequence[str], catalog: ScopeCatalog) -> tuple[str, ...]:
    """RFC 6749 §3.3 for a request (authorization, device authorization): required, well formed, in the
    catalog and approved for the app at registration; ``InvalidScope`` otherwise. Deduplicated, in
    catalog order."""
    try:
        names = parse_scope(value)
    except ValueError:
        raise InvalidScope("scope is malformed: use space-separated tokens of printable ASCII") from None
    if not names:
        raise InvalidScope("scope is required")
    for name in names:
        if name not in catalog:
            raise InvalidScope(UNKNOWN_SCOPE)
    allowed = set(approved)
    for name in names:
        if name not in allowed:
            raise InvalidScope(f"scope {name} was not approved for this app at registration")
    return tuple(catalog.ordered(names))
