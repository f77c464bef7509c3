#!/usr/bin/env bash
# The relying-party tests (tests/e2e/test_oidc_relying_parties.py) drive openid-client, unmodified,
# from a small Node script. It is installed here, into a git-ignored folder, by `make rp` (and so by
# `make test`), pinned to one version.
set -euo pipefail
. "$(dirname "$0")/apt.sh"
OPENID_CLIENT_VERSION="6.9.1"
DIR=".rp-deps"
if [ -f "$DIR/node_modules/openid-client/package.json" ] && grep -q "\"version\": \"$OPENID_CLIENT_VERSION\"" "$DIR/node_modules/openid-client/package.json"; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "npm is missing and installing it needs root: run 'sudo apt-get install -y npm'" >&2
    exit 1
  fi
  apt_get update -qq
  apt_get install -y -qq --no-install-recommends npm >/dev/null
fi
mkdir -p "$DIR"
echo "installing openid-client $OPENID_CLIENT_VERSION for the relying-party tests..."
npm install --silent --no-audit --no-fund --prefix "$DIR" "openid-client@$OPENID_CLIENT_VERSION"
test -f "$DIR/node_modules/openid-client/package.json"
