#!/usr/bin/env bash
# podman, runc and mmdebstrap from Debian's packages when missing (as root, like CI); podman-compose
# comes with the dev extras (.venv). Fails with one clear line when they cannot be had.
set -euo pipefail
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/../apt.sh"
missing=()
for tool in podman runc mmdebstrap; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]})); then
  [[ $(id -u) == 0 ]] || die "${missing[*]} missing; install them (apt-get install podman runc mmdebstrap) or run as root"
  command -v apt-get >/dev/null || die "${missing[*]} missing and no apt-get here: install podman, runc, mmdebstrap"
  say "installing ${missing[*]} from Debian's packages"
  apt_get update -qq
  apt_get install -y -qq podman runc mmdebstrap >/dev/null
fi
[[ -x "$ROOT/.venv/bin/podman-compose" ]] || die "podman-compose missing: run make install-dev"
podman info >/dev/null 2>&1 || die "podman does not run here (CONTAINERS_CONF=$CONTAINERS_CONF): $(podman info 2>&1 | tail -1)"
