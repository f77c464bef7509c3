#!/usr/bin/env bash
# make bench drives the refresh scenario with wrk (Debian's package): install it when missing.
set -euo pipefail
. "$(dirname "$0")/apt.sh"
command -v wrk >/dev/null && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "wrk is missing and installing it needs root: apt-get install -y wrk (or run make bench BENCH_ARGS=--python-load)" >&2
  exit 1
fi
echo "installing wrk (Debian package)" >&2
apt_get install -y -q wrk >/dev/null 2>&1 || {
  apt_get update -q >/dev/null && apt_get install -y -q wrk >/dev/null
}
