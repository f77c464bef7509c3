"""The one rule of an active authorization (``shared.grants.active.is_active``), table-driven: a live
family counts; otherwise the latest code must still be pending; a grant recorded before
``code_family`` existed keeps the old window (authorized less than a code lifetime ago)."""

from __future__ import annotations

import pytest

from shared.grants.active import is_active
from shared.grants.records import GrantRecord

NOW, CODE_TTL = 10_000, 600


@pytest.mark.parametrize(
    ("authorized_at", "code_family", "counted", "code_pending", "active"),
    [
        (1_000, "fam", True, False, True),  # a live family, long after the code
        (9_900, "fam", False, True, True),  # authorized, code not exchanged yet
        (9_900, "fam", False, False, False),  # code exchanged and its family revoked (RFC 7009): gone
        (1_000, "fam", False, False, False),  # code expired unexchanged, nothing live
        (9_500, "", False, False, True),  # recorded before code_family: 500 s ago, inside the window
        (9_400, "", False, False, False),  # exactly a code lifetime ago: nothing can come of it
        (9_400, "", True, False, True),
    ],
)
def test_is_active(
    authorized_at: int, code_family: str, counted: bool, code_pending: bool, active: bool
) -> None:
    grant = GrantRecord(client_id="mavio_client_A", scope="meetings:read", authorized_at=authorized_at,
                        code_family=code_family)  # fmt: skip
    assert is_active(grant, counted=counted, code_pending=code_pending, now=NOW, code_ttl=CODE_TTL) is active
