#!/usr/bin/env bash
# `make test-containers`: the compose stack for real (tests/containers/). The test tears the stack
# down itself; the trap does it again should pytest itself be killed.
set -euo pipefail
. "$(dirname "$0")/common.sh"
export MAVIO_COMPOSE_PROJECT="${MAVIO_COMPOSE_PROJECT:-mavio-test}"
bash "$ROOT/scripts/containers/prepare.sh"
trap 'bash "$ROOT/scripts/containers/down.sh" >/dev/null 2>&1 || true' EXIT
start=$(date +%s)
"$PY" -m pytest -q -m containers tests/containers "$@"
say "container test took $(( $(date +%s) - start )) s"
