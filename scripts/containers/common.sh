# Sourced by the other scripts here: where things are and how podman is called.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WORK="$ROOT/.containers"                      # never committed: wheels, base tarball, secrets
export CONTAINERS_CONF="$ROOT/deploy/podman/containers.conf"
BASE_IMAGE="${MAVIO_BASE_IMAGE:-localhost/mavio-base:bookworm}"
IMAGE="${MAVIO_IMAGE:-localhost/mavio-oauth:latest}"
PY="$ROOT/.venv/bin/python"
COMPOSE=("$ROOT/.venv/bin/podman-compose" --project-name "${MAVIO_COMPOSE_PROJECT:-mavio}"
         --env-file "$WORK/stack.env" -f "$ROOT/compose.yaml")
say() { printf 'containers: %s\n' "$*"; }
die() { printf 'containers: error: %s\n' "$*" >&2; exit 1; }
# Run a noisy step with its output in $WORK/last-step.log, shown only when the step fails.
quiet() {
  if ! "$@" >"$WORK/last-step.log" 2>&1; then
    tail -40 "$WORK/last-step.log" >&2
    die "failed: $* (whole output in $WORK/last-step.log)"
  fi
}
cd "$ROOT"
