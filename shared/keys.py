"""Every Redis key and its TTL rules, in one place.

Keys that one operation must touch together share a Redis Cluster hash tag (the part in braces):
- ``{f:<family>}``: everything descended from one authorization (its code, access and refresh
  tokens, the family record, its member index, the refresh replay window). The family id is
  embedded in every code/token (see ``shared.tokens``), so a token routes to its slot by itself.
- ``{a:<client_id>}``: an app, its logo, secret hashes, indexes of its families and users, counters.
- ``{u:<user_id>}``: an account, its grants (connected apps) and family index.
Never a raw secret in a key or value: token keys end with the token's HMAC signature.
"""

from __future__ import annotations

P = "mavio"

# ---- accounts and sessions (registry service; sessions: gateway) -------------------------------


def account(user_id: str) -> str:
    return f"{P}:{{u:{user_id}}}:account"  # hash: id, email, name, plan, password (argon2id)


def account_by_email(email: str) -> str:
    return f"{P}:email:{email.strip().lower()}"  # string: user id


def accounts_all() -> str:
    return f"{P}:accounts"  # set of user ids (operator listing)


def user_apps(user_id: str) -> str:
    return f"{P}:{{u:{user_id}}}:apps"  # set of client ids the user owns


def session(session_sig: str) -> str:
    return f"{P}:session:{session_sig}"  # hash, TTL MAVIO_SESSION_TTL; keyed by HMAC of the session id


# ---- apps (registry service) ----------------------------------------------------------------


def app(client_id: str) -> str:
    return f"{P}:{{a:{client_id}}}:app"  # JSON app record (secret hashes, never secrets)


def app_logo(client_id: str) -> str:
    return f"{P}:{{a:{client_id}}}:logo"  # PNG bytes


def apps_all() -> str:
    return f"{P}:apps"  # set of client ids (operator listing)


# ---- token families (authorize + token services) ---------------------------------------------


def family(fid: str) -> str:
    return f"{P}:{{f:{fid}}}:family"  # hash: client_id, user_id, scope, created_at, ...


def family_members(fid: str) -> str:
    return f"{P}:{{f:{fid}}}:members"  # zset: member key -> expiry (epoch seconds)


def code(fid: str, sig: str) -> str:
    return f"{P}:{{f:{fid}}}:code:{sig}"


def access_token(fid: str, sig: str) -> str:
    return f"{P}:{{f:{fid}}}:at:{sig}"


def refresh_token(fid: str, sig: str) -> str:
    return f"{P}:{{f:{fid}}}:rt:{sig}"


def refresh_replay(fid: str, sig: str) -> str:
    return f"{P}:{{f:{fid}}}:replay:{sig}"  # sealed successor pair, TTL = replay window


def family_revoked(fid: str) -> str:
    return f"{P}:{{f:{fid}}}:revoked"  # tombstone so late requests on a revoked family fail


# ---- per-app and per-user indexes and stats (token, revocation services) ----------------------


def app_families(client_id: str) -> str:
    return f"{P}:{{a:{client_id}}}:families"  # zset: family id -> expiry of its newest refresh token


def app_grant_users(client_id: str) -> str:
    return f"{P}:{{a:{client_id}}}:users"  # hash: user id -> number of live families (active auths)


def app_calls_total(client_id: str) -> str:
    return f"{P}:{{a:{client_id}}}:calls"  # integer counter of active verifications


def app_calls_day(client_id: str, yyyymmdd: str) -> str:
    return f"{P}:{{a:{client_id}}}:calls:{yyyymmdd}"  # integer, TTL 31 days


def user_grants(user_id: str) -> str:
    return f"{P}:{{u:{user_id}}}:grants"  # hash: client id -> JSON grant (scopes, authorized, last used)


def user_families(user_id: str) -> str:
    return f"{P}:{{u:{user_id}}}:families"  # zset: family id -> expiry


def app_pending_codes(client_id: str) -> str:
    """zset: ``pending_code_member(user, family)`` -> code expiry; written by authorize before the code,
    so revocations (app, grant, plan) can tombstone the family of a code not yet exchanged."""
    return f"{P}:{{a:{client_id}}}:pending"


def pending_code_member(user_id: str, family: str) -> str:
    return f"{user_id} {family}"


# ---- sweeper (revocation service) ------------------------------------------------------------


def sweep_lease() -> str:
    return f"{P}:sweeper:lease"  # string: holder id, TTL = lease time


def expiry_queue() -> str:
    return f"{P}:sweeper:due"  # zset: ``expiry_member(...)`` -> expiry; the sweeper's work list


def expiry_member(client_id: str, family: str, user_id: str) -> str:
    """``"<client_id> <family id> <user_id>"``: all the sweeper needs to uncount a family whose record
    has already expired with its last refresh token."""
    return f"{client_id} {family} {user_id}"


CALLS_DAY_TTL = 31 * 86_400


# ---- rate limits (gateway) --------------------------------------------------------------------


def rate_limit(kind: str, subject_sig: str) -> str:
    """Counted events in the current window for one subject (HMAC-keyed), TTL = the window:
    ``login-account`` / ``login-address`` (sign-in attempts), ``client`` / ``client-address`` (failed
    client authentications)."""
    return f"{P}:throttle:{kind}:{subject_sig}"
