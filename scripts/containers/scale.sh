#!/usr/bin/env bash
# scripts/containers/scale.sh SERVICE N: run exactly N replicas of SERVICE. Growing starts the new
# ones (podman-compose up --scale); shrinking stops the highest-numbered ones with SIGTERM, so each
# drains its in-flight requests first (podman-compose itself never removes a replica).
set -euo pipefail
. "$(dirname "$0")/common.sh"
[[ $# == 2 && $2 =~ ^[0-9]+$ ]] || die "usage: $0 SERVICE REPLICAS"
service=$1 want=$2
project="${MAVIO_COMPOSE_PROJECT:-mavio}"
mapfile -t running < <(podman ps -a --filter "label=io.podman.compose.project=$project" \
  --filter "label=io.podman.compose.service=$service" \
  --format '{{index .Labels "com.docker.compose.container-number"}} {{.Names}}' | sort -n)
if ((want > ${#running[@]})); then
  quiet "${COMPOSE[@]}" up -d --scale "$service=$want"
fi
for entry in "${running[@]}"; do
  number=${entry%% *} name=${entry#* }
  if ((number > want)); then
    quiet podman stop --time 30 "$name"
    quiet podman rm "$name"
  fi
done
say "$service: $want replica(s)"
