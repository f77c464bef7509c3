#!/usr/bin/env bash
# The browser tests inject axe-core (npm package) into every page. It is installed here, into a
# git-ignored folder, by `make browser` (and so by `make test`), pinned to one version.
set -euo pipefail
. "$(dirname "$0")/apt.sh"
AXE_VERSION="4.14.1"
DIR=".browser-deps"
if [ -f "$DIR/node_modules/axe-core/axe.min.js" ] && grep -q "\"version\": \"$AXE_VERSION\"" "$DIR/node_modules/axe-core/package.json"; then
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
echo "installing axe-core $AXE_VERSION for the browser tests..."
npm install --silent --no-audit --no-fund --prefix "$DIR" "axe-core@$AXE_VERSION"
test -f "$DIR/node_modules/axe-core/axe.min.js"
