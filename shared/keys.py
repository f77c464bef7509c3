"""Redis keys outside the grant family, each section naming the one module that writes it.

The grant family (codes, tokens, families, grants, indexes, call counters, the sweeper's work list) has
its own key module, ``shared.grants.keys``, and only ``shared.grants`` writes those keys.
Keys share a Redis Cluster hash tag (the part in braces) when one operation touches them together:
``{u:<user_id>}`` an account and its apps, ``{a:<client_id>}`` an app and its logo.
Never a raw secret in a key or value: session keys end with an HMAC of the session id.
"""

from __future__ import annotations

P = "mavio"

# ---- accounts (``shared.accounts.store``) and sessions (``services.gateway.sessions``) ----


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


# ---- consent pages (``services.authorize.page_store``) -------------------------------------


def consent_pages(user_id: str) -> str:
    """list: the user's open consent pages, oldest first, each ``consent_page_member(signature,
    client_id)``; at most ``MAVIO_CONSENT_PAGES_MAX`` (a new page over the cap drops the oldest); lives as
    long as the newest page. In the user's slot, with the pages and the user's grants."""
    return f"{P}:{{u:{user_id}}}:consent-pages"


def consent_page(user_id: str, signature: str) -> str:
    """string: one consent page, JSON ``ConsentRecord``, keyed by the HMAC of its id; TTL
    ``MAVIO_CONSENT_TTL``. In the user's slot, beside the user's list of pages."""
    return f"{P}:{{u:{user_id}}}:consent:{signature}"


def consent_page_member(signature: str, client_id: str) -> str:
    """``"<signature> <client_id>"``: a page in the user's list (the signature holds no space)."""
    return f"{signature} {client_id}"


# ---- apps (``shared.apps.store``) ------------------------------------------------------


def app(client_id: str) -> str:
    return f"{P}:{{a:{client_id}}}:app"  # JSON app record (secret hashes, never secrets)


def app_logo(client_id: str) -> str:
    return f"{P}:{{a:{client_id}}}:logo"  # PNG bytes


def app_secret(signature: str) -> str:
    return (
        f"{P}:{{s:{signature}}}:app"  # client id of the app whose current, previous or leaked secret this is
    )


def apps_all() -> str:
    return f"{P}:apps"  # set of client ids (operator listing)


# ---- sweeper lease (revocation service's ``lease`` module) ----------------------------------


def sweep_lease() -> str:
    return f"{P}:sweeper:lease"  # string: holder id, TTL = lease time


# ---- rate limits (gateway) --------------------------------------------------------------------


def rate_limit(kind: str, subject_sig: str) -> str:
    """Counted events in the current window for one subject (HMAC-keyed), TTL = the window:
    ``login-pair`` (account and address) / ``login-address`` (sign-in attempts), ``client-pair``
    (client id and address) / ``client-address`` (failed client authentications), ``device-session``
    / ``device-address`` (user codes typed on /device)."""
    return f"{P}:throttle:{kind}:{subject_sig}"


# ---- one-time credentials view (gateway) ------------------------------------------------------


def credentials_view(view_id: str) -> str:
    """A new client secret awaiting its one view: XOR-masked with a pad that lives only in the
    browser's cookie (neither half alone reveals it); read with GETDEL, TTL ``CREDENTIALS_VIEW_TTL``."""
    return f"{P}:credentials-view:{view_id}"


CREDENTIALS_VIEW_TTL = 600


# ---- OpenID Connect signing keys (``shared.signing.store``) -------------------------------------


def signing_keys() -> str:
    """string: the signing key set, JSON ``shared.signing.keyset.KeySet``: every key's public JWK and
    state (current, next, retired), private keys only sealed (``shared.sealing``, purpose ``jwk:<kid>``).
    Created once with SET NX; replaced only by compare-and-set (``lua/signing_keys_swap.lua``)."""
    return f"{P}:signing-keys"


# ---- developer webhooks (``services.webhooks.store``) -------------------------------------------
# One app's keys share the slot ``{w:<client_id>}``; the webhooks service is their one writer.

WEBHOOK_LOG_MAX = 100  # deliveries kept per app


def webhook_log(client_id: str) -> str:
    """list: the app's delivery ids, newest first, at most ``WEBHOOK_LOG_MAX``."""
    return f"{P}:{{w:{client_id}}}:webhook-log"


def webhook_deliveries(client_id: str) -> str:
    """hash: delivery id -> JSON ``StoredDelivery`` (type, status, attempts, last status, the payload;
    never a secret); a field leaves with its id from the log."""
    return f"{P}:{{w:{client_id}}}:webhook-deliveries"


def webhook_endpoint(client_id: str) -> str:
    """hash: the endpoint's state: ``failing_since`` (epoch seconds of the first failed attempt since the
    last success) and ``disabled_at``."""
    return f"{P}:{{w:{client_id}}}:webhook-endpoint"


def webhook_in_flight(client_id: str) -> str:
    """sorted set: attempts in flight to the app's endpoint (member: attempt id, score: when the slot
    lapses in epoch ms, should its replica die); at most ``MAVIO_WEBHOOK_MAX_IN_FLIGHT``."""
    return f"{P}:{{w:{client_id}}}:webhook-in-flight"
