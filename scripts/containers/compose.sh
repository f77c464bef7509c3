#!/usr/bin/env bash
# podman-compose on compose.yaml with the project's engine settings and secrets:
#   scripts/containers/compose.sh up -d | ps | logs token | down -v --remove-orphans
#   scripts/containers/compose.sh --profile tools run --rm cli users list
set -euo pipefail
. "$(dirname "$0")/common.sh"
[[ -s "$WORK/stack.env" ]] || die "no $WORK/stack.env: run make containers first"
exec "${COMPOSE[@]}" "$@"
