"""Every Redis key of the grant family, in one place; only ``shared.grants`` writes them.

Keys that one operation must touch together share a Redis Cluster hash tag (the part in braces):
- ``{f:<family>}``: everything descended from one authorization (its code, access and refresh tokens,
  the family record, its member index, the refresh replay window, its tombstone). The family id is
  embedded in every code and token (``shared.tokens``), so a token routes to its slot by itself.
- ``{a:<client_id>}``: the app's indexes of its families, users and pending codes, and its call counters.
- ``{u:<user_id>}``: the user's grants (connected apps) and family index.
Never a raw secret in a key or value: code and token keys end with the HMAC signature, cut to its first
128 bits (``SIG_CHARS`` hex characters). That is still far beyond guessing or colliding, and keeps a
family's member entries (their key names) within 64 bytes, so Redis keeps each family's member index in
its compact listpack encoding (``zset-max-listpack-value``; ziplist on Redis 6): about 1 KiB less per
live grant.
"""

from __future__ import annotations

from collections.abc import Callable

from shared.keys import P

CALLS_DAY_TTL = 31 * 86_400  # a day's API-call counter lives this long (the 30-day chart and a margin)
CALLS_TOTAL_TTL = 400 * 86_400  # an app's total API calls are forgotten after this long without a call
CALLS_DAYS_KEPT = CALLS_DAY_TTL // 86_400 + 1  # day counters that may still exist at any moment
REFRESH_MARKER = ":rt:"  # what tells a refresh-token key from the family's other members
SIG_CHARS = 32  # hex characters of a signature that a key name carries (128 bits)


# ---- one family: codes, tokens, replay window (slot {f:<family>}) -----------------------------


def family(fid: str) -> str:
    return f"{P}:{{f:{fid}}}:family"  # hash: client_id, user_id, scope, created_at, ...


def family_members(fid: str) -> str:
    return f"{P}:{{f:{fid}}}:members"  # zset: member key -> expiry (epoch seconds)


def code(fid: str, sig: str) -> str:
    return f"{P}:{{f:{fid}}}:code:{sig[:SIG_CHARS]}"


def access_token(fid: str, sig: str) -> str:
    return f"{P}:{{f:{fid}}}:at:{sig[:SIG_CHARS]}"


def refresh_token(fid: str, sig: str) -> str:
    return f"{P}:{{f:{fid}}}{REFRESH_MARKER}{sig[:SIG_CHARS]}"


def refresh_replay(fid: str, sig: str) -> str:
    return f"{P}:{{f:{fid}}}:rp:{sig[:SIG_CHARS]}"  # sealed successor pair, TTL = replay window


def code_scope(fid: str) -> str:
    """string: the scope of the family's code while it may be exchanged (TTL = the code's), so a plan
    change can tell whether a code not exchanged yet carries a scope the new plan lacks."""
    return f"{P}:{{f:{fid}}}:code_scope"


def device(fid: str, sig: str) -> str:
    """hash: an RFC 8628 device authorization (``records.DeviceRecord`` fields, plus ``status``,
    ``interval`` and ``polled_ms`` the polls update), keyed by its device code's signature; TTL twice the
    device code's lifetime, so a late poll still reads ``expired_token``."""
    return f"{P}:{{f:{fid}}}:device:{sig[:SIG_CHARS]}"


def family_revoked(fid: str) -> str:
    return f"{P}:{{f:{fid}}}:revoked"  # tombstone so late requests on a revoked family fail


# ---- per-app and per-user indexes, grants and counters ------------------------------------------


def app_families(client_id: str) -> str:
    return f"{P}:{{a:{client_id}}}:families"  # zset: family id -> expiry of its newest refresh token


def app_grant_users(client_id: str) -> str:
    return f"{P}:{{a:{client_id}}}:users"  # hash: user id -> number of live families (active auths)


def app_calls_total(client_id: str) -> str:
    return f"{P}:{{a:{client_id}}}:calls"  # integer counter of active verifications, TTL 400 days


def app_calls_day(client_id: str, yyyymmdd: str) -> str:
    return f"{P}:{{a:{client_id}}}:calls:{yyyymmdd}"  # integer, TTL 31 days


def user_grants(user_id: str) -> str:
    return f"{P}:{{u:{user_id}}}:grants"  # hash: client id -> JSON grant (scopes, authorized, last used)


def user_families(user_id: str) -> str:
    return f"{P}:{{u:{user_id}}}:families"  # zset: family id -> expiry


def around_user(key: Callable[[str], str]) -> tuple[str, str]:
    """What ``key(user_id)`` holds before and after the user id: for a script that learns the user
    from a record (``code_exchange.lua``) and so cannot be given the key itself."""
    before, _, after = key("\0").partition("\0")
    return before, after


def app_pending_codes(client_id: str) -> str:
    """zset: ``pending_code_member(user, family)`` -> code expiry; written by authorize before the code,
    so revocations (app, grant, plan) can tombstone the family of a code not yet exchanged."""
    return f"{P}:{{a:{client_id}}}:pending"


def pending_code_member(user_id: str, family: str) -> str:
    return f"{user_id} {family}"


# The user of an RFC 8628 device authorization nobody decided yet: indexed among the app's pending codes
# under this name, so "Revoke all tokens" and app deletion tombstone its family too. No user id has it.
UNDECIDED = "-"


def user_code(sig: str) -> str:
    """string: ``"<family> <device code signature>"`` of the device authorization a user code (its HMAC,
    normalised: ``shared.user_codes``) names, while it may be decided (TTL = the device code's)."""
    return f"{P}:device-user:{sig[:SIG_CHARS]}"


# ---- the sweeper's work list ------------------------------------------------------------------


def expiry_queue() -> str:
    return f"{P}:sweeper:due"  # zset: ``expiry_member(...)`` -> expiry; the sweeper's work list


def expiry_member(client_id: str, family: str, user_id: str) -> str:
    """``"<client_id> <family id> <user_id>"``: all the sweeper needs to uncount a family whose record
    has already expired with its last refresh token."""
    return f"{client_id} {family} {user_id}"
