#!/usr/bin/env bash
# Browser tests drive Debian's chromium through Playwright (executable_path), since Playwright's
# own browser download cannot work here. Install it when missing (needs root, as in CI).
set -euo pipefail
. "$(dirname "$0")/apt.sh"
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "chromium is missing and installing it needs root: run 'sudo apt-get install -y chromium'" >&2
  exit 1
fi
echo "installing Debian's chromium for the browser tests..."
apt_get update -qq
apt_get install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium >/dev/null
