"""Redis ACL users: the services' user may touch only ``mavio:*`` keys and no admin command.

The ``default`` user is switched off, so a client without the password gets ``NOAUTH`` for every
command. Rendered as an ACL file (``--aclfile``) for the embedded stack and the test fixtures; the
same rule is in ``compose.yaml``.
"""

from __future__ import annotations

from collections.abc import Mapping

SERVICE_USER = "mavio"
# Every command but the dangerous and admin ones, on our keys and channels; plus what cluster-aware
# clients ask at connect.
SERVICE_RULES = "~mavio:* &* +@all -@dangerous -@admin +info +cluster|slots +cluster|nodes +cluster|shards"


def acl_file(passwords: Mapping[str, str], *, admins: Mapping[str, str] | None = None) -> str:
    """``SERVICE_USER`` with its password (and ``admins``, e.g. a test harness, with every right)."""
    lines = ["user default off", f"user {SERVICE_USER} on >{passwords[SERVICE_USER]} {SERVICE_RULES}"]
    lines += [f"user {name} on >{password} ~* &* +@all" for name, password in (admins or {}).items()]
    return "\n".join(lines) + "\n"
