#!/usr/bin/env bash
# .containers/stack.env: the stack's secrets (a password per bus user, the Redis ACL user's, the
# token HMAC key, the key-encryption key), made once with a CSPRNG and kept (mode 0600, never
# committed) so a re-run keeps the data in the volumes usable. A kept file gains any secret it lacks
# (a bus user or key added since it was made); what it has is never changed. Delete the file (and the
# volumes) to rotate everything.
set -euo pipefail
. "$(dirname "$0")/common.sh"
mkdir -p "$WORK"
umask 077
"$PY" - "$WORK/stack.env" <<'PY'
import os
import secrets
import sys

from services.stack.credentials import environment_password
from shared import bus_auth
from shared.config import load_settings

path = sys.argv[1]
kept: dict[str, str] = {}
if os.path.exists(path):
    with open(path) as existing:
        for line in existing:
            if "=" in line and not line.lstrip().startswith("#"):
                key, _, value = line.rstrip("\n").partition("=")
                kept[key] = value
# nats.conf reads the bus passwords from the environment: environment_password() says why they differ.
# One per bus user, with every resource server's of MAVIO_RESOURCE_BUS_USERS (default: resource).
names = {k: v for k, v in os.environ.items() if k == "MAVIO_RESOURCE_BUS_USERS"}
users = bus_auth.all_users(load_settings(names).resource_bus_users)
wanted = {bus_auth.password_variable(user): environment_password for user in users}
wanted["MAVIO_REDIS_PASSWORD"] = environment_password
wanted["MAVIO_TOKEN_HMAC_KEY"] = lambda: secrets.token_urlsafe(48)
wanted["MAVIO_KEY_ENCRYPTION_KEY"] = lambda: secrets.token_urlsafe(48)
missing = {key: make() for key, make in wanted.items() if key not in kept}
if not missing:
    print(f"containers: secrets in {path} (kept)")
    sys.exit(0)
with open(path, "w") as out:
    out.write("# Mavio OAuth compose secrets (scripts/containers/env.sh); never commit this file.\n")
    out.writelines(f"{key}={value}\n" for key, value in {**kept, **missing}.items())
print(f"containers: {'added ' + ', '.join(missing) + ' to' if kept else 'made fresh secrets in'} {path}")
PY
