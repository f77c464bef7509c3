#!/usr/bin/env bash
# .containers/stack.env: the stack's secrets (a password per bus user, the Redis ACL user's, the
# token HMAC key, the key-encryption key), made once with a CSPRNG and kept (mode 0600, never committed) so a re-run keeps
# the data in the volumes usable. Delete the file (and the volumes) to rotate everything.
set -euo pipefail
. "$(dirname "$0")/common.sh"
mkdir -p "$WORK"
if [[ -s "$WORK/stack.env" ]]; then
  say "secrets in $WORK/stack.env (kept)"
  exit 0
fi
umask 077
"$PY" - "$WORK/stack.env" <<'PY'
import os
import secrets
import sys

from services.stack.credentials import environment_password
from shared import bus_auth
from shared.config import load_settings

# nats.conf reads the bus passwords from the environment: environment_password() says why they differ.
# One per bus user, with every resource server's of MAVIO_RESOURCE_BUS_USERS (default: resource).
names = {k: v for k, v in os.environ.items() if k == "MAVIO_RESOURCE_BUS_USERS"}
users = bus_auth.all_users(load_settings(names).resource_bus_users)
values = {bus_auth.password_variable(user): environment_password() for user in users}
values["MAVIO_REDIS_PASSWORD"] = environment_password()
values["MAVIO_TOKEN_HMAC_KEY"] = secrets.token_urlsafe(48)
values["MAVIO_KEY_ENCRYPTION_KEY"] = secrets.token_urlsafe(48)
with open(sys.argv[1], "w") as out:
    out.write("# Mavio OAuth compose secrets (scripts/containers/env.sh); never commit this file.\n")
    out.writelines(f"{key}={value}\n" for key, value in values.items())
PY
say "made fresh secrets in $WORK/stack.env"
