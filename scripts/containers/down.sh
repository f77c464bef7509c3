#!/usr/bin/env bash
# Tear the whole stack down: every container of the project, scaled replicas included (services
# first, so they drain while the bus and the store are still up), then networks and volumes.
# Keeps the images and .containers/stack.env. Idempotent.
set -euo pipefail
. "$(dirname "$0")/common.sh"
project="${MAVIO_COMPOSE_PROJECT:-mavio}"
containers() {
  podman ps -a --filter "label=io.podman.compose.project=$project" \
    --format '{{index .Labels "io.podman.compose.service"}} {{.Names}}'
}
mapfile -t apps < <(containers | awk '$1 !~ /^(nats-[0-9]+|redis)$/ {print $2}')
mapfile -t infra < <(containers | awk '$1 ~ /^(nats-[0-9]+|redis)$/ {print $2}')
for group in apps infra; do
  declare -n names=$group
  if ((${#names[@]})); then
    podman stop --ignore --time 30 "${names[@]}" >/dev/null
    podman rm --ignore --force "${names[@]}" >/dev/null
  fi
done
[[ -s "$WORK/stack.env" ]] && quiet "${COMPOSE[@]}" down --volumes --remove-orphans
say "stack $project is down"
