"""Development convenience: ``make run`` creates a demo account if missing and prints how to sign in.

Development only (never with MAVIO_ENV=production). The demo password is fixed and printed on
every run; if someone changed it, the account is left alone and the output says so.
"""

from __future__ import annotations

import asyncio
import sys

import redis.exceptions

from shared.accounts.passwords import Passwords
from shared.accounts.service import AccountService
from shared.accounts.store import RedisAccountStore
from shared.config import ConfigError, load_settings
from shared.errors import Conflict, InvalidGrant, OAuthError
from shared.store import open_redis

DEMO_EMAIL = "demo@mavio.example"
DEMO_PASSWORD = "mavio-demo-password"
DEMO_NAME = "Demo Developer"
DEMO_PLAN = "business"  # every scope of the catalog, so every consent screen can be tried


async def _ensure(env: dict[str, str]) -> str:
    settings = load_settings(env)
    async with open_redis(settings) as redis:
        accounts = AccountService(RedisAccountStore(redis), Passwords())
        try:
            await accounts.create(email=DEMO_EMAIL, name=DEMO_NAME, plan=DEMO_PLAN, password=DEMO_PASSWORD)
            made = "created"
        except Conflict:
            made = "exists"
        try:
            await accounts.authenticate(DEMO_EMAIL, DEMO_PASSWORD)
        except InvalidGrant:
            return f"mavio: demo account {DEMO_EMAIL} exists (its password was changed)"
    return f"mavio: demo account ({made}): email {DEMO_EMAIL}  password {DEMO_PASSWORD}"


def ensure_demo_account(env: dict[str, str]) -> None:
    """Create the demo account if missing and print its credentials (development only)."""
    try:
        if load_settings(env).production:
            return
        print(asyncio.run(_ensure(env)), flush=True)
    except (ConfigError, OAuthError, OSError, redis.exceptions.RedisError) as exc:
        print(f"mavio: demo account not created: {exc}", file=sys.stderr, flush=True)
